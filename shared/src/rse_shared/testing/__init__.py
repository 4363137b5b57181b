"""Test helpers on the real servers: topics, tokens, clocks, running services, the kit.

The pytest fixtures are in `rse_shared.testing.fixtures`, the plugin the workspace's
conftest.py loads; nothing here registers fixtures, and production code imports none of it.
"""

from rse_shared.testing.citizens import Counter, counter_for, open_counter
from rse_shared.testing.clocks import ManualClock
from rse_shared.testing.fhir import FhirValidator
from rse_shared.testing.kafka import (
    create_topic,
    documents,
    events_of,
    keyring_for_tests,
    publish,
    published_head,
    read_topic,
    revealed,
)
from rse_shared.testing.kit import Envelopes, Kit, Upstream, feed
from rse_shared.testing.logins import ServiceTokens, login, staff_login
from rse_shared.testing.names import REPO, unique
from rse_shared.testing.services import asgi_client, feeding, running
from rse_shared.testing.tally import RegistrationTally, Tally, a_family_doctor, a_registration
from rse_shared.testing.tokens import TokenMint, bearer
from rse_shared.testing.waiting import eventually

__all__ = [
    "REPO",
    "Counter",
    "Envelopes",
    "FhirValidator",
    "Kit",
    "ManualClock",
    "RegistrationTally",
    "ServiceTokens",
    "Tally",
    "TokenMint",
    "Upstream",
    "a_family_doctor",
    "a_registration",
    "asgi_client",
    "bearer",
    "counter_for",
    "create_topic",
    "documents",
    "events_of",
    "eventually",
    "feed",
    "feeding",
    "keyring_for_tests",
    "login",
    "open_counter",
    "publish",
    "published_head",
    "read_topic",
    "revealed",
    "running",
    "staff_login",
    "unique",
]
