"""An id of another kind of aggregate, where a path expects one kind, is a 404, never a 500.

Aggregate ids of natural keys are uuid5 of a constant namespace (rse_shared.eventstore),
so anyone who reads the source can compute a citizen's account, SNS- or NIF-claim id and,
from the citizen id (random, never derived from the SNS number), their beneficiary or
pending activation id. Each event store holds every kind of aggregate of its service under
one id space: an endpoint that loads "the exemption" or "the citizen" by id must check what
it loaded.
"""

from __future__ import annotations

import uuid

import pytest

from rse_benefits.domain.beneficiary import Beneficiary
from rse_consent.domain.alert_preferences import AlertPreferences
from rse_identity.domain.account import Account
from rse_identity.domain.activation import Activation
from rse_identity.domain.nif_claim import NifClaim
from rse_identity.domain.sns_claim import SnsClaim
from rse_requests.domain.patient import Patient
from rse_shared.eventstore import natural_id
from rse_shared.testing import eventually

from .cast import Cast, Clients, problem_of

pytestmark = pytest.mark.integration


def beneficiary_of(cast: Cast) -> uuid.UUID:
    return Beneficiary.create_id(uuid.UUID(cast.citizen_id))


async def known_to_benefits(api: Clients, cast: Cast) -> None:
    async def known() -> bool:
        response = await api["benefits"].post(
            f"/citizens/{cast.citizen_id}/exemptions/{uuid.uuid4()}/renewal",
            headers=cast.headers["citizen"],
            json={},
        )
        return response.status_code == 404

    await eventually(known)


async def test_a_citizen_renewing_their_beneficiary_id_as_an_exemption_gets_404(
    api: Clients,
    cast: Cast,
) -> None:
    await known_to_benefits(api, cast)
    response = await api["benefits"].post(
        f"/citizens/{cast.citizen_id}/exemptions/{beneficiary_of(cast)}/renewal",
        headers=cast.headers["citizen"],
        json={},
    )
    problem_of(response, 404)


async def test_an_officer_deciding_a_beneficiary_id_as_an_exemption_gets_404(
    api: Clients,
    cast: Cast,
) -> None:
    await known_to_benefits(api, cast)
    response = await api["benefits"].post(
        f"/exemptions/{beneficiary_of(cast)}/decision",
        headers=cast.headers["benefits_officer"],
        json={"decision": "denied", "reason": "no evidence"},
    )
    problem_of(response, 404)


def identity_ids(cast: Cast) -> dict[str, uuid.UUID]:
    body = cast.citizen["body"]
    return {
        "account": Account.create_id(body["sns_number"]),
        "sns claim": SnsClaim.create_id(body["sns_number"]),
        "nif claim": NifClaim.create_id(body["nif"]),
        "activation": Activation.create_id(uuid.UUID(cast.citizen_id)),
    }


def test_a_citizen_id_cannot_be_computed_from_the_sns_number(cast: Cast) -> None:
    citizen_id = uuid.UUID(cast.citizen_id)
    assert citizen_id.version == 4
    assert citizen_id != natural_id("citizen", cast.citizen["body"]["sns_number"])


OPERATOR_COMMANDS = [
    ("PUT", "family-doctor", {"practitioner_id": "P-1", "health_unit": "USF Tejo"}),
    ("PATCH", "contacts", {"phone": "+351915000000"}),
    ("POST", "deregistration", {"reason": "emigration", "effective_date": "2026-01-01"}),
    ("POST", "activation-codes", {}),
]


@pytest.mark.parametrize(
    ("method", "command", "body"), OPERATOR_COMMANDS, ids=[c for _, c, _ in OPERATOR_COMMANDS]
)
async def test_an_operator_naming_another_kind_of_id_as_the_citizen_gets_404(
    method: str,
    command: str,
    body: dict[str, str],
    api: Clients,
    cast: Cast,
) -> None:
    for kind, aggregate_id in identity_ids(cast).items():
        response = await api["identity"].request(
            method,
            f"/citizens/{aggregate_id}/{command}",
            json=body,
            headers=cast.headers["operator"],
        )
        assert response.status_code == 404, (kind, response.status_code)
        problem_of(response, 404)


async def test_consent_answers_404_for_an_alert_preferences_id_as_a_consent(
    api: Clients,
    cast: Cast,
) -> None:
    chosen = await api["consent"].put(
        f"/citizens/{cast.citizen_id}/alert-settings",
        headers=cast.headers["citizen"],
        json={"access_alerts": True},
    )
    assert chosen.status_code == 200
    preferences = AlertPreferences.create_id(uuid.UUID(cast.citizen_id))
    for path in (
        f"/citizens/{cast.citizen_id}/consents/{preferences}/revocation",
        f"/citizens/{cast.citizen_id}/alerts/{preferences}/read",
    ):
        problem_of(await api["consent"].post(path, headers=cast.headers["citizen"]), 404)


async def test_requests_answers_404_for_a_patient_id_as_a_renewal_or_slot(
    api: Clients,
    cast: Cast,
) -> None:
    patient = Patient.create_id(uuid.UUID(cast.citizen_id))
    pid, doctor = cast.practitioner_id, cast.headers["professional"]
    decided = await api["requests"].post(
        f"/practitioners/{pid}/renewals/{patient}/decision",
        headers=doctor,
        json={"decision": "rejected", "reason": "no"},
    )
    problem_of(decided, 404)
    cancelled = await api["requests"].post(
        f"/practitioners/{pid}/slots/{patient}/cancellation", headers=doctor, json={"reason": "no"}
    )
    problem_of(cancelled, 404)
