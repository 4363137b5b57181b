"""What a consumer keeps beside its events: the inbox and the chain heads it trusts.

Both are written by the process recorder inside the transaction that stores the
application's new events and the tracking records of the Kafka offsets they came from,
so a crash can never leave one without the others:

- the inbox: the last source position applied per (producer, citizen). A relay that
  crashed between the broker's ack and saving its position publishes the same events
  again at new offsets; the inbox recognises them. One upserted row per pair, not an
  event-sourced aggregate (which cost three stored events per first message).
- the chain heads: per (consumer group, topic, partition), the hash of the last link
  this group accepted, the highest source position on it, and the most recent hashes
  (so that a relay's byte-identical re-publication of its last window is a duplicate,
  not a break).

The inbox row only moves forward (`WHERE position < EXCLUDED.position`); a chain head
moves with its partition's tracking record, whose single-row upsert refuses to go back,
so two members of a group racing on one partition after a rebalance cannot both commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import StoredEvent, Tracking
from eventsourcing.popo import POPOProcessRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from rse_shared.chain import GENESIS
from rse_shared.pgstore import OneCallAppend

RECENT_LINKS = 512
"""Hashes kept per partition to recognise re-publications: more than a relay's unsaved
window (it saves its position after every batch of at most 200 notifications)."""

InboxKey = tuple[str, uuid.UUID]
"""(producer, citizen id)."""

StreamKey = tuple[str, str, int]
"""(consumer group, topic, partition)."""


@dataclass
class ChainHead:
    """The end of one partition's chain as a consumer group has accepted it."""

    hash: str = GENESIS
    position: int = 0
    recent: list[str] = field(default_factory=list)
    known: bool = False  # False until the group accepted a first link on this partition

    def __post_init__(self) -> None:
        self._seen = set(self.recent)  # `recent` as a set: one lookup, not 512 compares

    def has_seen(self, link: str) -> bool:
        return link == self.hash or link in self._seen

    def copy(self) -> ChainHead:
        return ChainHead(self.hash, self.position, list(self.recent), self.known)

    def advance(self, link: str, position: int) -> None:
        self.hash, self.position, self.known = link, max(self.position, position), True
        self.recent.append(link)
        self._seen.add(link)
        if len(self.recent) > RECENT_LINKS:
            self._seen.discard(self.recent.pop(0))


@dataclass
class ConsumerState:
    """What one consumer transaction writes besides the events: tracking, inbox, heads."""

    trackings: list[Tracking] = field(default_factory=list)
    inbox: dict[InboxKey, int] = field(default_factory=dict)
    heads: dict[StreamKey, ChainHead] = field(default_factory=dict)


class PostgresConsumerRecorder(OneCallAppend, PostgresProcessRecorder):
    """The process recorder of a consumer: also writes the inbox and the chain heads."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        events_table_name: str = "stored_events",
        tracking_table_name: str = "notification_tracking",
    ) -> None:
        super().__init__(
            datastore, events_table_name=events_table_name, tracking_table_name=tracking_table_name
        )
        prefix = tracking_table_name.removesuffix("_tracking")
        schema = Identifier(datastore.schema)
        self.inbox = SQL("{0}.{1}").format(schema, Identifier(f"{prefix}_inbox"))
        self.heads = SQL("{0}.{1}").format(schema, Identifier(f"{prefix}_chain_heads"))
        self.tracking = SQL("{0}.{1}").format(schema, Identifier(tracking_table_name))
        self.upsert_inbox = (
            SQL(
                "INSERT INTO {0} SELECT * FROM unnest(%b::text[], %b::uuid[], %b::bigint[]) "
                "ON CONFLICT (producer, citizen_id) DO UPDATE SET position = EXCLUDED.position "
                "WHERE {0}.position < EXCLUDED.position"
            )
            .format(self.inbox)
            .as_bytes(None)
        )
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (producer text NOT NULL, citizen_id uuid "
                "NOT NULL, position bigint NOT NULL, PRIMARY KEY (producer, citizen_id))"
            ).format(self.inbox),
            SQL(
                "CREATE TABLE IF NOT EXISTS {0} (group_id text NOT NULL, topic text NOT NULL,"
                " partition integer NOT NULL, head text NOT NULL, position bigint NOT NULL,"
                " recent text[] NOT NULL, PRIMARY KEY (group_id, topic, partition))"
            ).format(self.heads),
        ]

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        state: ConsumerState | None = kwargs.get("consumer_state")
        if state is not None:
            for tracking in state.trackings:
                self._insert_tracking(curs, tracking)
            self._upsert_inbox(curs, state.inbox)
            self._upsert_heads(curs, state.heads)
        super()._insert_events(curs, stored_events, **kwargs)

    def _upsert_inbox(self, curs: Cursor[DictRow], inbox: Mapping[InboxKey, int]) -> None:
        if inbox:
            # One statement, binary arrays (rse_shared.pgstore); each key once (a dict).
            curs.execute(
                self.upsert_inbox,
                (
                    [p for p, _ in inbox],
                    [c for _, c in inbox],
                    list(inbox.values()),
                ),
            )

    def _upsert_heads(self, curs: Cursor[DictRow], heads: Mapping[StreamKey, ChainHead]) -> None:
        if heads:
            curs.executemany(
                SQL(
                    "INSERT INTO {0} VALUES (%s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (group_id, topic, partition) DO UPDATE SET head = EXCLUDED.head,"
                    " position = EXCLUDED.position, recent = EXCLUDED.recent"
                ).format(self.heads),
                [(g, t, p, h.hash, h.position, h.recent) for (g, t, p), h in heads.items()],
            )

    def inbox_positions(self, keys: Iterable[InboxKey]) -> dict[InboxKey, int]:
        """The inbox positions of these (producer, citizen) pairs (absent: none applied)."""
        wanted = list(set(keys))
        if not wanted:
            return {}
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT producer, citizen_id, position FROM {0} WHERE "
                    "(producer, citizen_id) IN (SELECT * FROM unnest(%b::text[], "
                    "%b::uuid[]))"
                ).format(self.inbox),
                ([p for p, _ in wanted], [c for _, c in wanted]),
            )
            return {(r["producer"], r["citizen_id"]): r["position"] for r in curs.fetchall()}

    def chain_heads(
        self, group_id: str, streams: Iterable[tuple[str, int]]
    ) -> dict[StreamKey, ChainHead]:
        """The accepted chain heads of these (topic, partition) streams of `group_id`."""
        wanted = list(set(streams))
        heads = {(group_id, t, p): ChainHead() for t, p in wanted}
        if not wanted:
            return heads
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT topic, partition, head, position, recent FROM {0} "
                    "WHERE group_id = %s AND (topic, partition) IN (SELECT * FROM "
                    "unnest(%s::text[], %s::int[]))"
                ).format(self.heads),
                (group_id, [t for t, _ in wanted], [p for _, p in wanted]),
            )
            for r in curs.fetchall():
                heads[(group_id, r["topic"], r["partition"])] = ChainHead(
                    r["head"], r["position"], list(r["recent"]), known=True
                )
        return heads

    def tracking_positions(self, names: Iterable[str]) -> dict[str, int]:
        """The recorded tracking position of each application name (absent: none)."""
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL(
                    "SELECT application_name, notification_id FROM {0} "
                    "WHERE application_name = ANY(%s)"
                ).format(self.tracking),
                (list(set(names)),),
            )
            return {r["application_name"]: r["notification_id"] for r in curs.fetchall()}


class POPOConsumerRecorder(POPOProcessRecorder):
    """The in-memory equivalent, for application tests without a database."""

    def __init__(self) -> None:
        super().__init__()
        self._inbox: dict[InboxKey, int] = {}
        self._heads: dict[StreamKey, ChainHead] = {}

    def _assert_uniqueness(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._assert_uniqueness(stored_events, **kwargs)
        state: ConsumerState | None = kwargs.get("consumer_state")
        for tracking in state.trackings if state else ():
            self._assert_tracking_uniqueness(tracking)

    def _update_table(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._update_table(stored_events, **kwargs)
        state: ConsumerState | None = kwargs.get("consumer_state")
        if state is not None:
            for tracking in state.trackings:
                self._insert_tracking(tracking)
            for key, position in state.inbox.items():
                self._inbox[key] = max(position, self._inbox.get(key, 0))
            self._heads.update({k: h.copy() for k, h in state.heads.items()})
        return ids

    def inbox_positions(self, keys: Iterable[InboxKey]) -> dict[InboxKey, int]:
        with self._database_lock:
            return {k: self._inbox[k] for k in keys if k in self._inbox}

    def chain_heads(
        self, group_id: str, streams: Iterable[tuple[str, int]]
    ) -> dict[StreamKey, ChainHead]:
        with self._database_lock:
            return {
                (group_id, t, p): self._heads.get((group_id, t, p), ChainHead()).copy()
                for t, p in streams
            }

    def tracking_positions(self, names: Iterable[str]) -> dict[str, int]:
        with self._database_lock:
            return {n: i for n in names if (i := self._max_tracking_ids[n]) is not None}


ConsumerRecorder = PostgresConsumerRecorder | POPOConsumerRecorder
