"""Writes need a care relationship, and neither a refusal nor a duplicate tells a stranger
anything: the attacks played on the whole platform, with tokens identity issued."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from rse_shared.testing import eventually
from tests.e2e.conftest import Platform

from .cast import Cast, Clients, problem_of, professional

pytestmark = pytest.mark.integration

DOSE = {"vaccine": "VASPR", "dose_number": 1, "administered_on": str(date.today()), "lot": "S-1"}


async def test_a_stranger_cannot_probe_which_records_exist_by_writing(
    platform: Platform, api: Clients, cast: Cast
) -> None:
    _, stranger = await professional(platform, api, "USF Intrusa")
    answers = [
        await api["records"].post(
            f"/records/{citizen}/health-summary/allergies",
            headers=stranger,
            json={"allergy": "Penicilina"},
        )
        for citizen in (cast.citizen_id, uuid.uuid4())
    ]
    existing, missing = (problem_of(a, 403) for a in answers)
    assert existing == missing  # what stopped it: no relationship, decided before the record


async def test_a_repeated_dose_is_no_oracle_for_a_writer_who_cannot_read_the_bulletin(
    platform: Platform, api: Clients, cast: Cast
) -> None:
    # The cast's family doctor may write; a colleague of the unit may write too, not read.
    _, colleague = await professional(platform, api, cast.health_unit)
    path = f"/records/{cast.citizen_id}/vaccinations"

    async def written() -> int | None:
        response = await api["records"].post(path, headers=colleague, json=DOSE)
        return response.status_code if response.status_code != 403 else None

    first = await eventually(written, timeout=20)
    again = await api["records"].post(path, headers=colleague, json=DOSE)
    # Answered as a new dose would be, never "409: that dose is already there".
    assert (first, again.status_code) == (201, 201), again.text
    assert set(again.json()) == {"vaccination_id"}
