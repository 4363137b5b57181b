"""A professional's own views: the patients whose consent covers them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from rse_records.api.dependencies import App, Limit, Professional, reader_of
from rse_records.api.schemas import AuthorisedPatient
from rse_records.application import Reader, RecordsApplication
from rse_records.projections import candidate_patients, records_of
from rse_records.read_models import RecordDocument
from rse_shared.contracts import Category
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels

professionals = APIRouter(prefix="/professionals/me", tags=["professionals"])


@professionals.get("/patients", response_model=list[AuthorisedPatient])
async def my_patients(
    app: App, db: ReadModels, principal: Professional, limit: Limit = 100
) -> list[AuthorisedPatient]:
    """Citizens whose consent in force covers the caller, and the categories it covers."""
    reader = reader_of(principal)
    candidates = await candidate_patients(db, reader.practitioner_id, reader.health_unit, limit)
    # The directory may lag a revocation: each candidate is confirmed by the event store.
    authorised = await in_thread(confirmed, app, candidates, reader)
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
    """The candidates `reader` may read now, with the categories they may read."""
    found = {c: app.categories_authorised(uuid.UUID(c), reader) for c in citizens}
    return {citizen: categories for citizen, categories in found.items() if categories}
