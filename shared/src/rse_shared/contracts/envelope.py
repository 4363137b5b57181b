"""The envelope every integration event carries, and the registry of contracts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from rse_shared.acting import ACTING_ATTRIBUTE

EVENT_ID_NAMESPACE = uuid.UUID("6f1c2a8e-5b0d-4c1e-9a57-2d5f0e3b7c41")


@dataclass(frozen=True)
class Origin:
    """The Kafka record a consumer read an event from."""

    topic: str
    partition: int
    offset: int


class ProxyActor(BaseModel):
    """The proxy who took an action for the citizen (the event's `citizen_id` is the subject)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    actor_id: str  # the proxy's citizen id
    relationship_id: uuid.UUID
    kind: str  # legal_guardian, informal_caregiver, healthcare_proxy


class IntegrationEvent(BaseModel):
    """Base of every integration event: a frozen, versioned, tolerant-reader contract."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    protected_fields: ClassVar[tuple[str, ...]] = ()
    """Its sensitive fields: on Kafka only under the citizen's key (rse_shared.protection)."""

    event_id: uuid.UUID
    occurred_at: datetime
    producer: str
    citizen_id: uuid.UUID
    correlation_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    source_position: int = Field(ge=1)
    # Set when a proxy acted for the citizen: every event of that action names them both.
    proxy: ProxyActor | None = None
    # Set by the relay: the hash chain over the topic partition (see rse_shared.chain).
    chain_prev: str | None = None
    chain_hash: str | None = None
    # Where a consumer read the event: never in the document, so never in its chain hash.
    _origin: Origin | None = PrivateAttr(default=None)

    @property
    def origin(self) -> Origin | None:
        """The Kafka record this event was read from (None if it was not read from Kafka)."""
        return self._origin

    def read_from(self, topic: str, partition: int, offset: int) -> Self:
        """This event, knowing the Kafka record it was read from."""
        self._origin = Origin(topic, partition, offset)
        return self

    def __eq__(self, other: object) -> bool:
        # Two reads of one event are one event, wherever each was read from.
        if not isinstance(other, IntegrationEvent):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def to_wire(self) -> dict[str, Any]:
        """The JSON document published on Kafka (envelope + payload)."""
        body = self.model_dump(mode="json")
        body["event_type"] = self.event_type
        body["schema_version"] = self.schema_version
        if body.get("proxy") is None:
            # Absent, not null: documents of actions by the citizen stay as they always were.
            body.pop("proxy", None)
        return body


_REGISTRY: dict[tuple[str, int], type[IntegrationEvent]] = {}
E = TypeVar("E", bound=type[IntegrationEvent])


def contract(cls: E) -> E:
    """Register an integration event class under its (event_type, schema_version)."""
    cls.event_type = cls.__name__
    _REGISTRY[(cls.event_type, cls.schema_version)] = cls
    return cls


def register_as(cls: type[IntegrationEvent], schema_version: int) -> None:
    """Read documents of an earlier `schema_version` of `cls`'s event type with `cls` (its
    validators upcast them); it still writes its own version."""
    _REGISTRY[(cls.event_type, schema_version)] = cls


class UnknownEventType(LookupError):
    """An event type or schema version this reader does not know."""


def registered_contracts() -> list[type[IntegrationEvent]]:
    """Every contract known to this process, in registration order."""
    return list(dict.fromkeys(_REGISTRY.values()))


def contract_for(event_type: str, schema_version: int) -> type[IntegrationEvent]:
    """The registered contract class for an event type and version."""
    try:
        return _REGISTRY[(event_type, schema_version)]
    except KeyError:
        raise UnknownEventType(f"{event_type} v{schema_version}") from None


def parse_event(document: dict[str, Any]) -> IntegrationEvent:
    """Parse a wire document into its contract (pydantic.ValidationError if malformed)."""
    cls = contract_for(str(document.get("event_type")), int(document.get("schema_version", 1)))
    return cls.model_validate(document)


def stable_event_id(originator_id: uuid.UUID, originator_version: int) -> uuid.UUID:
    """Event id derived from the stored domain event, so re-publishing keeps it."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{originator_id}:{originator_version}")


def envelope_of(
    domain_event: Any, position: int, producer: str, citizen_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """The envelope of the integration event translated from a stored domain event.

    The citizen is the event's `citizen_id` unless given (identity's citizen is the
    aggregate itself).
    """
    envelope = {
        "event_id": stable_event_id(domain_event.originator_id, domain_event.originator_version),
        "occurred_at": domain_event.timestamp,
        "producer": producer,
        "citizen_id": citizen_id or domain_event.citizen_id,
        "source_position": position,
    }
    acting = getattr(domain_event, ACTING_ATTRIBUTE, None)
    if acting is not None:
        envelope["proxy"] = ProxyActor.model_validate(acting)
    return envelope
