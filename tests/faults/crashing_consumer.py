"""A ledger consumer that SIGKILLs itself in the middle of applying its first batch.

    python -m tests.faults.crashing_consumer BOOTSTRAP TOPIC GROUP [MOMENT] [MAX_BATCH]

The event store's environment comes from RSE_* variables. MOMENT is where the kill falls:

- `after-commit` (the default): the batch's transaction (effects, tracking records, inbox
  rows, chain heads) committed, the offsets not yet: the window a crash leaves for a
  redelivery;
- `in-transaction`: every row of the batch written, its transaction not committed.

MAX_BATCH (default 300, the consumer's) caps the messages of one batch; 1 makes every
batch a single message. Before dying the consumer prints the batch's size on stdout.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from faststream.kafka import KafkaBroker
from psycopg import Cursor
from psycopg.rows import DictRow

from rse_shared.consumer_store import ConsumerState, PostgresConsumerRecorder
from rse_shared.contracts.envelope import IntegrationEvent
from rse_shared.idempotent_consumer import IdempotentConsumer
from rse_shared.kafka import ADMIN, broker_security, tool_settings
from rse_shared.settings import ServiceSettings

from .support import LedgerApplication

MOMENTS = ("after-commit", "in-transaction")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class DiesBeforeCommitting(PostgresConsumerRecorder):
    """Dies once the batch's statements ran on the server, before its COMMIT."""

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Any:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if kwargs.get("consumer_state") is not None:
            die()
        return ids


class DiesAfterWriting(LedgerApplication):
    """Dies right after its first batch's transaction committed."""

    name = "ledger"  # the same tables as the ledger that takes over

    def apply(
        self,
        events: Sequence[IntegrationEvent],
        state: ConsumerState,
        traceparents: Sequence[str | None] = (),
    ) -> None:
        if events:
            print(len(events), flush=True)
        super().apply(events, state, traceparents)
        if events:
            die()


class DiesWhileWriting(DiesAfterWriting):
    """Dies inside its first batch's transaction."""

    env: ClassVar[dict[str, str]] = {"PROCESS_RECORDER_TOPIC": get_topic(DiesBeforeCommitting)}


async def main(
    bootstrap: str, topic: str, group: str, moment: str = "after-commit", max_batch: str = "300"
) -> None:
    if moment not in MOMENTS:
        raise SystemExit(f"moment must be one of {MOMENTS}")
    dying = DiesAfterWriting if moment == "after-commit" else DiesWhileWriting
    app = dying(env=ServiceSettings().eventstore_env())
    broker = KafkaBroker(
        bootstrap,
        logger=logging.getLogger("faststream"),
        security=broker_security(tool_settings(ADMIN)),
    )
    IdempotentConsumer(broker, app, topics=[topic], group_id=group, max_batch=int(max_batch))
    await broker.start()
    try:
        await asyncio.sleep(60)  # the first batch ends the process
    finally:
        await broker.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
