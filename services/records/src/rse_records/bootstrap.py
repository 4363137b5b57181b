"""Records' composition root: everything built from one Settings object."""

from __future__ import annotations

from collections.abc import Sequence

from rse_records import api
from rse_records.access import NoCareRelationship
from rse_records.application import RecordsApplication
from rse_records.codes_channel import codes_channel
from rse_records.config import Settings
from rse_records.domain.emergency import AlreadyReviewed, EmergencyQuotaExceeded, NotAnEmergency
from rse_records.domain.health_record import (
    DuplicateVaccination,
    InvalidRecordEntry,
    PrescriptionAlreadyIssued,
    RecordAlreadyOpen,
    RecordClosed,
    RecordNotFound,
    UnknownMedication,
)
from rse_records.emergency_queue import EmergencyQueue, refresh_emergency_metrics
from rse_records.projections import AccessLog, ConsentDirectory, HealthRecordBook, NotVisible
from rse_records.published import to_integration_event
from rse_shared.auth import TokenVerifier
from rse_shared.channels import channel_name, channel_relay, reader_key
from rse_shared.clock import Clock, utcnow
from rse_shared.eventstore import keyring_of
from rse_shared.service import Service, assemble, periodic
from rse_shared.topics import consumed_by, events_topic

ERRORS: dict[type[Exception], int] = {
    NoCareRelationship: 403,
    EmergencyQuotaExceeded: 429,
    NotAnEmergency: 404,
    AlreadyReviewed: 409,
    RecordNotFound: 404,
    UnknownMedication: 404,
    NotVisible: 404,
    RecordAlreadyOpen: 409,
    RecordClosed: 409,
    DuplicateVaccination: 409,
    PrescriptionAlreadyIssued: 409,
    InvalidRecordEntry: 422,
}


def bootstrap(
    settings: Settings,
    *,
    topic: str | None = None,
    consumes: Sequence[str] | None = None,
    verifier: TokenVerifier | None = None,
    clock: Clock = utcnow,
) -> Service:
    """Build records from settings; nothing connects until it is used or started.

    identity opens and closes records, consent says who reads, and requests' approved
    renewals become e-prescriptions: the topology's `consumed_by("records")`. The codes of
    each e-prescription go, sealed, to notifications on records' channel beside `topic`.
    """
    app = RecordsApplication(
        env=settings.eventstore_env(), clock=clock, emergency_quota=settings.emergency_daily_quota
    )
    key = reader_key(settings, settings.notifications_seal_public_key, "notifications")
    codes = channel_name("records", "prescription-codes", topic)
    return assemble(
        settings,
        app,
        translate=to_integration_event,
        topic=topic or events_topic("records"),
        projections=[
            HealthRecordBook(keyring_of(app)),
            ConsentDirectory(),
            AccessLog(),
            EmergencyQueue(),
        ],
        consumes=consumed_by("records") if consumes is None else consumes,
        routers=[api.records, api.entries, api.professionals, api.emergency_accesses],
        errors=ERRORS,
        verifier=verifier,
        extra_workers={"codes-relay": channel_relay(settings, app, codes_channel(key), codes)},
        scheduled={
            "emergency_metrics": periodic(
                settings.emergency_metrics_interval, refresh_emergency_metrics
            )
        },
    )
