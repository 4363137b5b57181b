"""Who may reach a record through the API: the dependencies every records router uses."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Path, Query
from pymongo.asynchronous.database import AsyncDatabase

from rse_records.access import Reader
from rse_records.api.schemas import ReadReason
from rse_records.application import RecordsApplication
from rse_records.domain.care_relationship import Writer
from rse_records.domain.record_access import EntryRefs
from rse_records.projections import NotVisible, find_record
from rse_records.read_models import RecordDocument
from rse_shared.api import check_citizen_or, citizen_or, get_app
from rse_shared.auth import CurrentPrincipal, Forbidden, Principal, require_roles
from rse_shared.contracts import Category
from rse_shared.eventstore import in_thread

# The same answer whether or not the record exists, so a refusal reveals nothing.
NO_CONSENT = "no consent of the citizen covers this read"
NO_RELATIONSHIP = "no care relationship with the citizen allows this entry"
OWN_RECORD = "a citizen may only see their own record"
SECOND_FACTOR = "break-the-glass needs a session signed in with every factor enrolled"
HOSPITAL_STAFF = "hospital_staff"

ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=500)]

App = Annotated[RecordsApplication, Depends(get_app)]
Professional = Annotated[Principal, Depends(require_roles("professional"))]
Auditor = Annotated[Principal, Depends(require_roles("auditor"))]
CitizenOrProfessional = Annotated[Principal, Depends(require_roles("citizen", "professional"))]
TheCitizen = Annotated[Principal, Depends(citizen_or(detail=OWN_RECORD))]
TheCitizenOrAuditor = Annotated[Principal, Depends(citizen_or("auditor", detail=OWN_RECORD))]
Reason = Annotated[ReadReason, Query()]


def reader_of(principal: Principal) -> Reader:
    """The professional the access token names (403 if it names no practitioner)."""
    if not principal.practitioner_id:
        raise Forbidden("the access token names no practitioner")
    return Reader(principal.practitioner_id, principal.health_unit)


def hospital_of(principal: Principal) -> str | None:
    """The hospital a hospital-staff token names (None if blank or absent)."""
    hospital = principal.hospital
    return hospital if hospital and hospital.strip() else None


async def writer(principal: CurrentPrincipal) -> Writer:
    """Who writes: a professional (by practitioner id) or a hospital's staff (by hospital)."""
    if principal.role == "professional":
        return Writer(reader_of(principal).practitioner_id, "professional", principal.health_unit)
    hospital = hospital_of(principal)
    if str(principal.role) == HOSPITAL_STAFF and hospital is not None:
        actor = principal.practitioner_id or principal.subject
        return Writer(actor, "hospital_staff", hospital=hospital)
    raise Forbidden("requires role professional or hospital_staff")


TheWriter = Annotated[Writer, Depends(writer)]


def check_second_factor(principal: Principal) -> None:
    """Break-the-glass only from a session whose login proved every factor enrolled.

    identity names the login's methods in `amr` (RFC 8176) and refuses the login of an
    account with TOTP enrolled unless the code is given, so such an account's tokens say
    "otp". A token that does not say how its session was signed in is refused here.
    """
    if not principal.amr:
        raise Forbidden(SECOND_FACTOR)


def check_writer_emergency(principal: Principal, reason: str | None) -> None:
    """A write under a stated emergency needs the same session as an emergency read."""
    if reason is not None:
        check_second_factor(principal)


async def authorise(
    app: RecordsApplication,
    principal: Principal,
    citizen_id: uuid.UUID,
    category: Category,
    reason: ReadReason,
    entries: EntryRefs,
    emergency_reason: str | None = None,
) -> None:
    """The citizen reads their own record; a professional as the access decision says."""
    if principal.role == "citizen":
        check_citizen_or(principal, citizen_id, detail=OWN_RECORD)
        return
    if emergency_reason is not None:
        check_second_factor(principal)
    decision = await in_thread(
        app.authorise_read,
        citizen_id,
        reader_of(principal),
        [category],
        reason.purpose,
        emergency_reason,
        entries,
    )
    if not decision.allowed:
        raise Forbidden(NO_CONSENT)


async def visible_record(db: AsyncDatabase[Any], citizen_id: uuid.UUID) -> RecordDocument:
    """The citizen's record as projected (404 if not, or not yet, there)."""
    record = await find_record(db, str(citizen_id))
    if record is None:
        raise NotVisible("no health record for that citizen")
    return record
