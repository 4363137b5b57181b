"""One AsyncAPI 3.0 document for every Kafka topic, generated from the contract registry
and the topology (rse_shared.topics).

Each `<service>.events` topic carries the contracts of its producer module
(`rse_shared.contracts.<service>`); `audit.checkpoints` and `audit.keys` carry the relays'
signed chain heads and verification keys; `<group>.<topic>.dlq` the consumers' dead letters
(`rse_shared.contracts.audit`). One builder per kind of channel (events, audit, dead_letters)
fills the sections that `document.build` assembles. The output is deterministic (sorted
keys, sorted lists), so the committed file can be compared with a fresh rendering:

    uv run python -m rse_shared.asyncapi            # writes docs/asyncapi.yaml
    uv run python -m rse_shared.asyncapi --check    # exit 1 if docs/asyncapi.yaml is stale
"""

from rse_shared.asyncapi.cli import default_path, main
from rse_shared.asyncapi.document import build, render
from rse_shared.asyncapi.parts import channel_id, contracts, message_id, producer_of

__all__ = [
    "build",
    "channel_id",
    "contracts",
    "default_path",
    "main",
    "message_id",
    "producer_of",
    "render",
]
