"""identity's relay, SIGKILLed with several batches in flight.

    python -m tests.faults.dying_relay BOOTSTRAP TOPIC BATCH_SIZE SAVES

The event store's environment comes from RSE_* variables. The relay publishes as the
service's does (pipelined, `WINDOWS` batches sent ahead of the oldest unacknowledged one)
and, after saving its position SAVES times, waits for the next batch's acks and dies
before saving it: that batch is on the topic under no saved position, and the batches
after it are sent, some acknowledged, some not. Before dying it prints, on stdout, the
saved position, the position of the acknowledged batch and how far it had sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from typing import Any

from rse_identity.application import IdentityApplication
from rse_identity.published import to_integration_event
from rse_shared.kafka import client_options
from rse_shared.relay import OutboxRelay, Window
from rse_shared.settings import ServiceSettings


class DiesMidWindow(OutboxRelay):
    """A relay that dies after `saves` saved positions, with later batches in flight."""

    def __init__(self, *args: Any, saves: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.saves_left = saves

    async def _acknowledge(self, window: Window) -> None:
        if self.saves_left == 0:
            await asyncio.gather(*window.acks)
            print(
                json.dumps(
                    {
                        "saved": self.position,
                        "acknowledged": window.position,
                        "sent": self.sent_position,
                    }
                ),
                flush=True,
            )
            os.kill(os.getpid(), signal.SIGKILL)
        await super()._acknowledge(window)
        self.saves_left -= 1


async def main(bootstrap: str, topic: str, batch_size: str, saves: str) -> None:
    settings = ServiceSettings(service_name="identity")
    app = IdentityApplication(env=settings.eventstore_env())
    relay = DiesMidWindow(
        app,
        to_integration_event,
        topic=topic,
        bootstrap=bootstrap,
        conninfo=settings.postgres_conninfo(),
        producer="identity",
        batch_size=int(batch_size),
        saves=int(saves),
        kafka=client_options(settings),
    )
    await relay.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
