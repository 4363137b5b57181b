"""Records' composition root: everything built from one Settings object."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from rse_records import api
from rse_records.application import RecordsApplication
from rse_records.config import Settings
from rse_records.domain.health_record import (
    DuplicateVaccination,
    InvalidRecordEntry,
    PrescriptionAlreadyIssued,
    RecordAlreadyOpen,
    RecordClosed,
    RecordNotFound,
    UnknownMedication,
)
from rse_records.integration import TOPIC, to_integration_event
from rse_records.projections import AccessLog, ConsentDirectory, HealthRecordBook
from rse_shared.auth import TokenVerifier
from rse_shared.service import Service, assemble

ERRORS: dict[type[Exception], int] = {
    RecordNotFound: 404,
    UnknownMedication: 404,
    api.NotVisible: 404,
    RecordAlreadyOpen: 409,
    RecordClosed: 409,
    DuplicateVaccination: 409,
    PrescriptionAlreadyIssued: 409,
    InvalidRecordEntry: 422,
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def bootstrap(settings: Settings, *, topic: str = TOPIC, consumes: Sequence[str] | None = None,
              verifier: TokenVerifier | None = None,
              clock: Callable[[], datetime] = utc_now) -> Service:
    """Build records from settings; nothing connects until it is used or started."""
    app = RecordsApplication(env=settings.eventstore_env(), clock=clock)
    return assemble(
        settings, app, translate=to_integration_event, topic=topic,
        projections=[HealthRecordBook(), ConsentDirectory(), AccessLog()],
        consumes=consumes if consumes is not None
        else (settings.identity_topic, settings.consent_topic, settings.requests_topic),
        routers=[api.records, api.entries, api.professionals], errors=ERRORS,
        verifier=verifier,
    )
