"""The logs of a whole citizen journey carry no token, credential, personal or clinical data.

Everything every logger emits (caplog) while a citizen registers, logs in, is given a family
doctor, has medication and a vaccine written, consents, is read by the doctor and has a
renewal approved into a prescription is searched for what went in: in the JSON lines that
rse_shared.logs' formatter makes of each record (what the services write), and for what no
handler may ever see, in the records themselves. Library levels are those setup_logging sets.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import date, timedelta

import pytest

from rse_shared.logs import QUIET_LIBRARIES, JsonFormatter
from rse_shared.testing import eventually
from tests.e2e.conftest import Platform
from tests.e2e.flows import nif_for

from .cast import Clients, citizen, grant, professional, record_opened, with_family_doctor

pytestmark = pytest.mark.integration
TOKEN = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}")


def raw_text(record: logging.LogRecord) -> str:
    """A record as any handler could see it: message, arguments, extra fields, traceback."""
    extra = {k: v for k, v in vars(record).items() if k not in logging.makeLogRecord({}).__dict__}
    parts = [record.getMessage(), repr(extra)]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(repr(record.exc_info[1]))
    return "\n".join(parts)


async def journey(platform: Platform, api: Clients, secrets: dict[str, str]) -> list[str]:
    """Register, log in, consent, be read, ask for a renewal; the tokens used on the way."""
    person = await citizen(
        api,
        full_name=secrets["full name"],
        nif=secrets["NIF"],
        sns_number=secrets["SNS number"],
        email=secrets["e-mail"],
        phone=secrets["phone"],
        address=secrets["address"],
        password=secrets["password"],
        date_of_birth="1969-07-21",
    )
    cid, auth = person["citizen_id"], person["auth"]
    doctor_id, doctor = await professional(platform, api)
    await with_family_doctor(platform, api, person, doctor_id, "USF Seguranca")
    await record_opened(api, person)

    async def added() -> str | None:
        # A write needs records to know the family doctor (from identity's event) first.
        response = await api["records"].post(
            f"/records/{cid}/health-summary/medications",
            headers=doctor,
            json={"name": secrets["medication"], "dosage": "20 mg"},
        )
        return str(response.json()["medication_id"]) if response.status_code == 201 else None

    medication_id = await eventually(added, timeout=20)
    vaccinated = await api["records"].post(
        f"/records/{cid}/vaccinations",
        headers=doctor,
        json={
            "vaccine": secrets["vaccine"],
            "dose_number": 1,
            "administered_on": str(date.today()),
            "lot": "LOG-1",
        },
    )
    assert vaccinated.status_code == 201, vaccinated.text
    await grant(api, person, doctor_id, ["health_summary", "vaccinations"])

    async def read_by_doctor() -> bool:
        response = await api["records"].get(f"/records/{cid}/health-summary", headers=doctor)
        return response.status_code == 200

    await eventually(read_by_doctor, timeout=20)
    assert (
        await api["records"].get(f"/records/{cid}/vaccinations", headers=doctor)
    ).status_code == 200

    async def renewal_requested() -> str | None:
        response = await api["requests"].post(
            f"/citizens/{cid}/renewals", headers=auth, json={"medication_ids": [medication_id]}
        )
        return str(response.json()["request_id"]) if response.status_code == 201 else None

    request_id = await eventually(renewal_requested, timeout=20)
    approved = await api["requests"].post(
        f"/practitioners/{doctor_id}/renewals/{request_id}/decision",
        headers=doctor,
        json={
            "decision": "approved",
            "valid_until": str(date.today() + timedelta(days=60)),
            "items": [{"medication_id": medication_id, "packs": 2}],
        },
    )
    assert approved.status_code == 200, approved.text

    async def prescribed() -> bool:
        record = (await api["records"].get(f"/records/{cid}", headers=auth)).json()
        return bool(record["prescriptions"])

    await eventually(prescribed, timeout=20)
    return [
        auth["Authorization"].removeprefix("Bearer "),
        doctor["Authorization"].removeprefix("Bearer "),
    ]


def found(text: str, secrets: dict[str, str], tokens: list[str]) -> list[str]:
    hits = [name for name, value in secrets.items() if value.lower() in text.lower()]
    hits += ["an access token" for token in tokens if token in text]
    return hits + (["something shaped like a JWT"] if TOKEN.search(text) else [])


def new_secrets() -> dict[str, str]:
    seed = uuid.uuid4().int % 10**8
    return {
        "password": f"horse battery {uuid.uuid4().hex[:8]}",
        "NIF": nif_for(seed),
        "SNS number": f"3{seed:08d}",
        "e-mail": f"ana.{seed}@example.pt",
        "phone": f"+3519{seed:08d}",
        "full name": f"Ana Quaresma Lobo {seed}",
        "address": f"Travessa do Segredo {seed}, Evora",
        "medication": f"Rivaroxabano-{seed}",
        "vaccine": f"Qdenga-{seed}",
    }


CREDENTIALS = ("password",)
IDENTIFIERS = ("NIF", "SNS number", "e-mail")
PERSONAL_AND_CLINICAL = ("full name", "phone", "address", "medication", "vaccine")


async def leaks_in_logs(
    platform: Platform,
    api: Clients,
    caplog: pytest.LogCaptureFixture,
    level: int,
    watched: tuple[str, ...],
    raw_too: bool = False,
) -> dict[str, list[str]]:
    """Run a journey with logging at `level` (libraries as setup_logging sets them): per
    logger, which of the `watched` values (and any token) its JSON lines (and, if asked,
    its raw records) carried."""
    caplog.set_level(level)
    libraries = [logging.getLogger(name) for name in QUIET_LIBRARIES]
    kept = [library.level for library in libraries]
    for library in libraries:
        library.setLevel(logging.WARNING)  # as rse_shared.logs.setup_logging does
    secrets = new_secrets()
    try:
        tokens = await journey(platform, api, secrets)
    finally:
        for library, previous in zip(libraries, kept, strict=True):
            library.setLevel(previous)
    assert len(caplog.records) > (20 if level == logging.DEBUG else 0)
    watching = {name: secrets[name] for name in watched}
    as_json = JsonFormatter("security-test")
    leaks: dict[str, set[str]] = {}
    for record in caplog.records:
        hits = found(as_json.format(record), watching, tokens)
        if raw_too:
            hits += [f"{hit} (in the record)" for hit in found(raw_text(record), watching, tokens)]
        if hits:
            leaks.setdefault(record.name, set()).update(hits)
    return {name: sorted(hits) for name, hits in leaks.items()}


async def test_no_token_or_password_is_logged_even_at_debug(
    platform: Platform,
    api: Clients,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert (
        await leaks_in_logs(platform, api, caplog, logging.DEBUG, CREDENTIALS, raw_too=True) == {}
    )


async def test_no_nif_sns_number_or_email_reaches_a_json_log_line_even_at_debug(
    platform: Platform,
    api: Clients,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await leaks_in_logs(platform, api, caplog, logging.DEBUG, IDENTIFIERS) == {}


async def test_at_the_default_level_no_personal_or_clinical_value_is_logged(
    platform: Platform,
    api: Clients,
    caplog: pytest.LogCaptureFixture,
) -> None:
    watched = (*CREDENTIALS, *IDENTIFIERS, *PERSONAL_AND_CLINICAL)
    assert await leaks_in_logs(platform, api, caplog, logging.INFO, watched, raw_too=True) == {}


async def test_at_debug_no_personal_or_clinical_value_reaches_a_json_log_line(
    platform: Platform,
    api: Clients,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert await leaks_in_logs(platform, api, caplog, logging.DEBUG, PERSONAL_AND_CLINICAL) == {}
