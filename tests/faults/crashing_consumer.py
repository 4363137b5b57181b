"""A ledger consumer that is SIGKILLed right after its first database write.

    python -m tests.faults.crashing_consumer BOOTSTRAP TOPIC GROUP

The event store's environment comes from RSE_* variables. The kill falls after the
transaction holding the effect and its tracking record committed, and before the offset
commit: the window a consumer crash leaves for a redelivery.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from rse_shared.settings import ServiceSettings
from rse_shared.testing import feeding

from .support import LedgerApplication


class DiesAfterWriting(LedgerApplication):
    name = "ledger"  # the same tables as the ledger that takes over

    def process_event(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().process_event(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)


async def main(bootstrap: str, topic: str, group: str) -> None:
    app = DiesAfterWriting(env=ServiceSettings().eventstore_env())
    async with feeding(bootstrap, app, [topic], group_id=group):
        await asyncio.sleep(60)  # the first message ends the process


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
