"""A professional's own views: the patients whose consent names them or their unit."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from rse_records.access import Reader
from rse_records.api.dependencies import App, Professional, reader_of
from rse_records.api.schemas import AuthorisedPatient
from rse_records.application import RecordsApplication
from rse_records.projections import candidate_patients, records_of
from rse_records.read_models import RecordDocument
from rse_shared.contracts import Category
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

professionals = APIRouter(prefix="/professionals/me", tags=["professionals"])

# A list is a privileged read of every citizen on it: small pages, each one recorded.
PatientLimit = Annotated[int, Query(ge=1, le=100, description="at most this many patients")]
LISTING_PURPOSE = "treatment"


@professionals.get("/patients", response_model=list[AuthorisedPatient])
async def my_patients(
    app: App, db: ReadModels, principal: Professional, limit: PatientLimit = 20
) -> list[AuthorisedPatient]:
    """Citizens whose consent names the caller or their unit, and the categories it covers.

    All-SNS consents let any professional read a record asked for, never list it; each
    citizen listed finds the listing in their access history.
    """
    reader = reader_of(principal)
    candidates = await candidate_patients(db, reader.practitioner_id, reader.health_unit, limit)
    # The directory may lag a revocation: each candidate is confirmed by the event store.
    authorised = await in_thread(confirmed, app, candidates, reader)
    if authorised:
        await in_thread(app.record_listing, reader, authorised, LISTING_PURPOSE)
    known = await records_of(db, list(authorised))
    return [
        patient(citizen, categories, known.get(citizen))
        for citizen, categories in authorised.items()
    ]


def patient(
    citizen: str, categories: frozenset[Category], record: RecordDocument | None
) -> AuthorisedPatient:
    """The patient as listed: named where records knows their record."""
    return AuthorisedPatient(
        citizen_id=citizen,
        categories=sorted(categories),
        full_name=record.full_name if record else None,
        sns_number=record.sns_number if record else None,
    )


def confirmed(
    app: RecordsApplication, citizens: list[str], reader: Reader
) -> dict[str, frozenset[Category]]:
    """The candidates a consent naming `reader` or their unit covers now, with what it covers."""
    found = {c: app.categories_listed(uuid.UUID(c), reader) for c in citizens}
    return {citizen: categories for citizen, categories in found.items() if categories}
