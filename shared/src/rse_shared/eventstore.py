"""Helpers around the eventsourcing library: worker-thread calls, stable ids, and the
mapper that stores every event encrypted (per citizen where the event is a citizen's)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Any, ParamSpec, TypeVar

import anyio.to_thread
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import CollectEventsProtocol, DomainEventProtocol
from eventsourcing.persistence import JSONTranscoder, Mapper, Recording, StoredEvent, Transcoding
from eventsourcing.utils import Environment
from opentelemetry import propagate

from rse_shared.acting import ACTING_ATTRIBUTE as _ACTING_ATTRIBUTE
from rse_shared.acting import acting_now as _acting_now
from rse_shared.keyring import CitizenErased, Keyring, decode_key, shared_keyring

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


CITIZEN_KEYED = b"\x01"
"""Stored state under the citizen's data key: marker, citizen id, nonce, ciphertext."""
SERVICE_KEYED = b"\x02"
"""Stored state under the service's store key: marker, nonce, ciphertext."""


class StoreUnreadable(ValueError):
    """A stored event that does not open: altered, moved, or under another store key."""


_AGGREGATES: dict[type[Any], type[Any] | None] = {}


def _aggregate_of(event_class: type[Any]) -> type[Any] | None:
    """The aggregate class a nested domain event class belongs to."""
    if event_class not in _AGGREGATES:
        outer = event_class.__qualname__.rsplit(".", 1)[0]
        found: Any = sys.modules.get(event_class.__module__)
        for part in outer.split("."):
            found = getattr(found, part, None)
        _AGGREGATES[event_class] = found if isinstance(found, type) else None
    return _AGGREGATES[event_class]


def citizen_of(domain_event: Any) -> uuid.UUID | None:
    """Whose data a domain event holds: what the aggregate's `citizen_in(event)` says where
    it has one, else the event's `citizen_id`, or the aggregate's own id where the
    aggregate is the citizen (`citizen_is_id`); None for events of no one citizen and for
    aggregates that keep their events under the store key (`store_keyed`)."""
    aggregate = _aggregate_of(type(domain_event))
    if getattr(aggregate, "store_keyed", False):
        return None
    citizen_in = getattr(aggregate, "citizen_in", None)
    if callable(citizen_in):  # the aggregate says, e.g. from a field of some of its events
        found = citizen_in(domain_event)
        return found if isinstance(found, uuid.UUID) else None
    citizen = getattr(domain_event, "citizen_id", None)
    if isinstance(citizen, uuid.UUID):
        return citizen
    if isinstance(citizen, str):
        try:
            return uuid.UUID(citizen)
        except ValueError:
            return None
    if getattr(aggregate, "citizen_is_id", False):
        return uuid.UUID(str(domain_event.originator_id))
    return None


class StateCipher:
    """AES-256-GCM over stored event state, bound to its aggregate and version: under the
    citizen's data key where the event is a citizen's (so erasure shreds it), else under
    the service's store key. State in clear (stored before encryption was enabled) reads
    as it is only with `accept_clear`; otherwise it was put there past the service and is
    refused."""

    def __init__(
        self,
        store_key: bytes,
        keyring: Keyring | None,
        *,
        accept_clear: bool = False,
        previous: bytes | None = None,
    ) -> None:
        self.store = AESGCM(store_key)
        # The store key before a rotation: still opens what it sealed, never seals.
        self.previous = AESGCM(previous) if previous else None
        self.keyring = keyring
        self.accept_clear = accept_clear

    def seal(self, state: bytes, citizen: uuid.UUID | None, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        if citizen is not None and self.keyring is not None:
            key = self.keyring.data_key(citizen, "store")
            return CITIZEN_KEYED + citizen.bytes + nonce + AESGCM(key).encrypt(nonce, state, aad)
        return SERVICE_KEYED + nonce + self.store.encrypt(nonce, state, aad)

    def open(self, state: bytes, aad: bytes) -> bytes:
        """The plain state (CitizenErased if its citizen's key was destroyed)."""
        marker = state[:1]
        try:
            if marker == CITIZEN_KEYED:
                if self.keyring is None:
                    raise StoreUnreadable("a citizen's event, and no keyring")
                citizen = uuid.UUID(bytes=state[1:17])
                key = self.keyring.data_key(citizen, "load")
                return AESGCM(key).decrypt(state[17:29], state[29:], aad)
            if marker == SERVICE_KEYED:
                return self._open_store_keyed(state, aad)
        except InvalidTag:
            raise StoreUnreadable("stored event does not open with its key") from None
        if not self.accept_clear:
            raise StoreUnreadable("stored event in clear, and clear state is refused")
        return state  # stored in clear before encryption was enabled

    def _open_store_keyed(self, state: bytes, aad: bytes) -> bytes:
        try:
            return self.store.decrypt(state[1:13], state[13:], aad)
        except InvalidTag:
            if self.previous is None:
                raise
            return self.previous.decrypt(state[1:13], state[13:], aad)

    def reseal(self, state: bytes, aad: bytes) -> bytes | None:
        """A store-keyed state sealed under the previous key, sealed anew under the current
        one (None: nothing to do — citizen-keyed, or already under the current key)."""
        if state[:1] != SERVICE_KEYED:
            return None
        try:
            self.store.decrypt(state[1:13], state[13:], aad)
            return None
        except InvalidTag:
            plain = self._open_store_keyed(state, aad)  # InvalidTag: under neither key
        nonce = os.urandom(12)
        return SERVICE_KEYED + nonce + self.store.encrypt(nonce, plain, aad)


def readable(mapper: Mapper[uuid.UUID], stored: StoredEvent) -> Any | None:
    """The stored event as a domain event, or None if its citizen was erased (a reader of
    the log — relay, projection — passes over it)."""
    try:
        return mapper.to_domain_event(stored)
    except CitizenErased:
        return None


def keyring_of(app: Application[Any]) -> Keyring | None:
    """The keyring an application's events are sealed with (None: stored in clear)."""
    mapper = app.mapper
    cipher = mapper.state_cipher if isinstance(mapper, TracingMapper) else None
    return cipher.keyring if cipher else None


def state_aad(originator_id: object, version: int) -> bytes:
    return f"{originator_id}:{version}".encode()


def state_cipher(env: Environment | dict[str, str] | None) -> StateCipher | None:
    """The cipher the environment configures (None: events stored in clear, unit tests)."""
    env = env or {}
    store_key = env.get("RSE_STORE_KEY")
    if not store_key:
        return None
    keyring = None
    if env.get("RSE_KEYRING_CONNINFO") and env.get("RSE_DATA_KEK"):
        keyring = shared_keyring(
            str(env.get("RSE_KEYRING_CONNINFO")),
            decode_key(str(env.get("RSE_DATA_KEK"))),
            service=str(env.get("RSE_KEY_SERVICE") or "service"),
            cache_seconds=float(env.get("RSE_KEY_CACHE_SECONDS") or 300),
        )
    accept_clear = bool(env.get("RSE_STORE_ACCEPT_CLEAR"))
    previous = env.get("RSE_STORE_KEY_PREVIOUS")
    return StateCipher(
        decode_key(str(store_key)),
        keyring,
        accept_clear=accept_clear,
        previous=decode_key(str(previous)) if previous else None,
    )


class TracingMapper(Mapper[uuid.UUID]):
    """Stores the W3C traceparent of the command with each event, for the relay to continue,
    and seals each event's state with `state_cipher` when one is set."""

    state_cipher: StateCipher | None = None

    def to_stored_event(self, domain_event: DomainEventProtocol[uuid.UUID]) -> StoredEvent:
        traceparent = current_traceparent()
        if traceparent and not hasattr(domain_event, TRACE_ATTRIBUTE):
            object.__setattr__(domain_event, TRACE_ATTRIBUTE, traceparent)
        acting = _acting_now()
        if acting is not None and not hasattr(domain_event, _ACTING_ATTRIBUTE):
            # Saved while a proxy acts for the citizen: the event names the proxy too.
            object.__setattr__(domain_event, _ACTING_ATTRIBUTE, acting.as_dict())
        stored = super().to_stored_event(domain_event)
        if self.state_cipher is None:
            return stored
        aad = state_aad(stored.originator_id, stored.originator_version)
        sealed = self.state_cipher.seal(stored.state, citizen_of(domain_event), aad)
        return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, sealed)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[uuid.UUID]:
        if self.state_cipher is not None:
            aad = state_aad(stored_event.originator_id, stored_event.originator_version)
            stored_event = StoredEvent(
                stored_event.originator_id,
                stored_event.originator_version,
                stored_event.topic,
                self.state_cipher.open(stored_event.state, aad),
            )
        return super().to_domain_event(stored_event)


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent")


_IS_EVENT: dict[type[Any], bool] = {}
_COLLECTS: dict[type[Any], bool] = {}


def _kind(cache: dict[type[Any], bool], obj: object, protocol: type[Any]) -> bool:
    """`isinstance(obj, protocol)`, once per class: a runtime protocol's check looks up
    every member each time (a tenth of a one-event save)."""
    known = cache.get(type(obj))
    if known is None:
        known = cache[type(obj)] = isinstance(obj, protocol)
    return known


class Batch(ProcessingEvent[uuid.UUID]):
    """eventsourcing's ProcessingEvent, telling events from aggregates once per class."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if obj is None:
                continue
            if _kind(_IS_EVENT, obj, DomainEventProtocol):
                self.events.append(obj)
                continue
            if _kind(_COLLECTS, obj, CollectEventsProtocol):
                self.events.extend(obj.collect_events())
            self.aggregates[obj.id] = obj
        self.saved_kwargs.update(kwargs)


class ServiceApplication(Application[uuid.UUID]):
    """Base of every service's eventsourcing Application (dates transcoded, traces kept)."""

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[uuid.UUID]]:
        """The library's `save`, collecting through `Batch`."""
        batch = Batch()
        batch.collect_events(*objs, **kwargs)
        recordings = self._record(batch)
        self._take_snapshots(batch)
        self._notify(recordings)
        self.notify(batch.events)  # the library's deprecated hook, kept as it calls it
        return recordings

    def construct_mapper(self) -> Mapper[uuid.UUID]:
        mapper = self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=TracingMapper
        )
        assert isinstance(mapper, TracingMapper)
        mapper.state_cipher = state_cipher(self.env)
        return mapper

    @property
    def keyring(self) -> Keyring | None:
        """The citizens' data keys this application's events are sealed with, if any."""
        return keyring_of(self)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
