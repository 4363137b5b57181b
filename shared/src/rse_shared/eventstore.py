"""Helpers around the eventsourcing library: worker-thread calls and stable ids."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any, ParamSpec, TypeVar

import anyio.to_thread
from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent, Transcoding
from opentelemetry import propagate

from rse_shared.acting import ACTING_ATTRIBUTE as _ACTING_ATTRIBUTE
from rse_shared.acting import acting_now as _acting_now

P = ParamSpec("P")
T = TypeVar("T")

ID_NAMESPACE = uuid.UUID("0b8a3f53-8f4e-4a7c-bf49-1e1d4d0c2f6a")


def natural_id(kind: str, key: str) -> uuid.UUID:
    """Deterministic aggregate id for a natural key (uniqueness by version-1 conflict)."""
    return uuid.uuid5(ID_NAMESPACE, f"{kind}:{key}")


async def in_thread(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a synchronous (eventsourcing) call in a worker thread, off the event loop."""
    return await anyio.to_thread.run_sync(partial(func, *args, **kwargs))


def event_attributes(domain_event: Any) -> dict[str, Any]:
    """The attributes of a domain event, without the eventsourcing bookkeeping ones."""
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic"}
    return {k: v for k, v in vars(domain_event).items() if k not in skip}


class DateAsISO(Transcoding):
    """Stores `datetime.date` values (dates of birth, validity dates) as ISO strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


TRACE_ATTRIBUTE = "_traceparent"


class TracingMapper(Mapper[uuid.UUID]):
    """Stores the W3C traceparent of the command with each event, for the relay to continue."""

    def to_stored_event(self, domain_event: DomainEventProtocol[uuid.UUID]) -> StoredEvent:
        traceparent = current_traceparent()
        if traceparent and not hasattr(domain_event, TRACE_ATTRIBUTE):
            object.__setattr__(domain_event, TRACE_ATTRIBUTE, traceparent)
        acting = _acting_now()
        if acting is not None and not hasattr(domain_event, _ACTING_ATTRIBUTE):
            # Saved while a proxy acts for the citizen: the event names the proxy too.
            object.__setattr__(domain_event, _ACTING_ATTRIBUTE, acting.as_dict())
        return super().to_stored_event(domain_event)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


class ServiceApplication(Application[uuid.UUID]):
    """Base of every service's eventsourcing Application (dates transcoded, traces kept)."""

    def construct_mapper(self) -> Mapper[uuid.UUID]:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=TracingMapper
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
