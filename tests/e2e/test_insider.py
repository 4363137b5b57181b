"""An insider who opens a record by writing a consent into records' own store is found.

The attacker: someone with write access to records' event store (an operator, a broken
deployment script), not to Kafka, who saves a grant into a citizen's consent register
through records' application, bypassing consent and the bus. records then permits a
stranger professional's read (200): its decision reads the register. What stops them
going unseen is the audit: `rse-audit compare` names the register entry (it names no
consent.events record) and the permit (no consent published on consent.events allowed
it), while a genuine grant through consent -> Kafka -> records is named by neither.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from rse_audit.cli import main
from rse_audit.permits import PERMIT_WITHOUT_CONSENT
from rse_audit.provenance import NOT_ON_CONSENT_EVENTS
from rse_records.application import RecordsApplication
from rse_records.domain.consent_register import ConsentRegister
from rse_shared.eventstore import in_thread
from rse_shared.service import Service
from rse_shared.settings import ServiceSettings
from rse_shared.testing import eventually

from .conftest import Platform, build_platform
from .flows import audit_differences, register_citizen, staff

pytestmark = pytest.mark.integration


@pytest.fixture
async def own_platform(infra: ServiceSettings) -> AsyncIterator[Platform]:
    """A platform of the test's own: the shared one must stay free of what it plants."""
    async with build_platform(infra, label="insider") as built:
        yield built


def insider_grant(records: Service, citizen_id: uuid.UUID) -> uuid.UUID:
    """A grant to every SNS professional, saved straight into records' event store."""
    app = records.app
    assert isinstance(app, RecordsApplication)
    consent_id = uuid.uuid4()
    register = app.consent_register(citizen_id) or ConsentRegister(citizen_id)
    register.grant(
        consent_id,
        "all_sns",
        None,
        ["health_summary"],
        "treatment",
        app.clock() - timedelta(minutes=1),
        None,
    )
    app.save(register)
    return consent_id


def compare_exit_code(platform: Platform, history: Path) -> int:
    """`rse-audit compare` on the platform's databases, as an auditor would run it."""
    services = platform.services
    return int(
        main(
            [
                "--db",
                str(history),
                "compare",
                "--mongo-url",
                services["consent"].settings.mongo_url,
                *[
                    arg
                    for name in ("consent", "requests", "benefits")
                    for arg in (f"--{name}-db", services[name].settings.mongo_db)
                ],
                "--records-store",
                services["records"].settings.postgres_conninfo(),
            ]
        )
    )


async def test_a_consent_written_into_records_store_and_the_read_it_opened_are_named(
    own_platform: Platform,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    platform = own_platform
    identity, records, consent = platform["identity"], platform["records"], platform["consent"]
    citizen = await register_citizen(identity)
    cid = citizen["citizen_id"]
    doctor = await staff(
        platform.services["identity"],
        identity,
        "professional",
        practitioner_id="P-43",
        health_unit="USF Tejo",
    )
    stranger = await staff(
        platform.services["identity"],
        identity,
        "professional",
        practitioner_id="P-666",
        health_unit="USF Longe",
    )
    summary = f"/records/{cid}/health-summary"
    granted = await consent.post(
        f"/citizens/{cid}/consents",
        headers=citizen["auth"],
        json={"grantee": {"kind": "professional", "id": "P-43"}, "categories": ["health_summary"]},
    )
    assert granted.status_code == 201, granted.text

    async def readable() -> bool:
        return (await records.get(summary, headers=doctor)).status_code == 200

    await eventually(readable)
    history = tmp_path / "history.sqlite"

    async def audited_clean() -> bool:
        return not list(await audit_differences(platform, history))

    await eventually(audited_clean, timeout=40)  # the genuine grant and its read: nothing
    assert await asyncio.to_thread(compare_exit_code, platform, history) == 0

    assert (await records.get(summary, headers=stranger)).status_code == 403
    planted = await in_thread(insider_grant, platform.services["records"], uuid.UUID(cid))
    assert (await records.get(summary, headers=stranger)).status_code == 200

    async def named() -> dict[str, set[str]] | None:
        found: dict[str, set[str]] = {}
        for difference in await audit_differences(platform, history):
            found.setdefault(difference.kind, set()).add(
                str(
                    difference.live if difference.kind == PERMIT_WITHOUT_CONSENT else difference.key
                )
            )
        audit_kinds = {NOT_ON_CONSENT_EVENTS, PERMIT_WITHOUT_CONSENT}
        return found if set(found) == audit_kinds else None  # the projections caught up

    assert await eventually(named, timeout=40) == {
        NOT_ON_CONSENT_EVENTS: {str(planted)},
        PERMIT_WITHOUT_CONSENT: {str(planted)},
    }
    capsys.readouterr()
    assert await asyncio.to_thread(compare_exit_code, platform, history) == 1
    printed = capsys.readouterr().out
    assert f"{NOT_ON_CONSENT_EVENTS} {planted}" in printed
    assert PERMIT_WITHOUT_CONSENT in printed and "2 differences" in printed
