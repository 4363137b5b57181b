"""A proxy's read of the record: saved before the answer, published naming the proxy."""

import uuid
from datetime import UTC, datetime

from rse_records.api.proxy_reads import part_read
from rse_records.application import RecordsApplication
from rse_records.domain.proxy_read import ProxyRead
from rse_records.published import to_integration_event
from rse_shared.acting import Acting, act_as
from rse_shared.contracts import RecordReadByProxy
from rse_shared.testing import ManualClock

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_the_part_read_is_the_route_s_last_segment_or_the_whole_record() -> None:
    assert part_read("/records/{citizen_id}") == "record"
    assert part_read("/records/{citizen_id}/health-summary") == "health_summary"
    assert part_read("/records/{citizen_id}/vaccinations") == "vaccinations"


def test_a_proxy_s_read_is_published_with_the_proxy_and_the_part_never_the_content() -> None:
    app = RecordsApplication(clock=ManualClock(NOW))
    child, parent, relationship = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    act_as(Acting(str(parent), str(relationship), "legal_guardian"))
    try:
        app.save(ProxyRead(citizen_id=child, part="vaccinations", read_at=app.clock()))
    finally:
        act_as(None)
    [notification] = app.recorder.select_notifications(1, 10)
    published = to_integration_event(app.mapper.to_domain_event(notification), notification.id)
    assert isinstance(published, RecordReadByProxy)
    assert (published.citizen_id, published.part) == (child, "vaccinations")
    assert published.proxy is not None
    assert (published.proxy.actor_id, published.proxy.relationship_id) == (
        str(parent),
        relationship,
    )
