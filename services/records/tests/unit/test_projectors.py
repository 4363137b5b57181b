"""Each projector decodes only the notifications it applies, and applies all it lists."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.utils import get_topic

from rse_records.domain.consent_register import ConsentRegister
from rse_records.domain.health_record import HealthRecord
from rse_records.domain.record_access import RecordAccess
from rse_records.projections import AccessLog, ConsentDirectory, HealthRecordBook
from rse_shared.projection import handled_by

PROJECTIONS = [HealthRecordBook, ConsentDirectory, AccessLog]


@pytest.mark.parametrize("projection", PROJECTIONS)
def test_a_projection_lists_exactly_the_events_it_has_a_handler_for(projection: Any) -> None:
    registered = set(vars(projection)["apply"].dispatcher.registry) - {object}
    assert set(projection.handles) == registered


def test_each_projector_decodes_only_its_own_aggregates_events() -> None:
    topics = {
        name: get_topic(cls)
        for name, cls in {
            "opened": HealthRecord.Opened,
            "granted": ConsentRegister.Granted,
            "register opened": ConsentRegister.Opened,
            "accessed": RecordAccess.Recorded,
        }.items()
    }
    decoded = {
        p.__name__: sorted(n for n, t in topics.items() if handled_by(p(), t)) for p in PROJECTIONS
    }
    assert decoded == {
        "HealthRecordBook": ["opened"],
        "ConsentDirectory": ["granted"],
        "AccessLog": ["accessed"],
    }
