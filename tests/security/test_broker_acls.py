"""The broker itself refuses whoever the topology does not allow (rse_shared.acl).

Each test names its attacker: someone on the network with a Kafka client, or a service's
stolen or misused credentials. What stops them is the broker (SASL_SSL with SCRAM-SHA-512,
StandardAuthorizer, no ACL means no access), never our own code; each refusal is checked
beside the same request by the one who is allowed, so that no test passes for another
reason (a missing topic, a wrong address).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from aiokafka.helpers import create_ssl_context

from rse_shared import topics
from rse_shared.acl import create_topology_topics
from rse_shared.kafka import AUDITOR, SASL_MECHANISM, tool_options
from rse_shared.settings import ServiceSettings

pytestmark = pytest.mark.integration

CONSENT_EVENTS = topics.events_topic("consent")
RECORDS_EVENTS = topics.events_topic("records")
# Long enough for a broker on a busy machine, short enough that a refusal is the answer.
PATIENCE = 20.0


@pytest.fixture(scope="module", autouse=True)
async def topology(infra: ServiceSettings) -> None:
    """The topology's topics exist (deploy/local creates them; a foreign broker may not)."""
    await create_topology_topics()


async def produce(bootstrap: str, topic: str, **options: Any) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", request_timeout_ms=8000, **options
    )
    await asyncio.wait_for(producer.start(), PATIENCE)
    try:
        await asyncio.wait_for(producer.send_and_wait(topic, b'{"forged": true}'), PATIENCE)
    finally:
        await producer.stop()


async def consume_one(bootstrap: str, topic: str, group: str | None, **options: Any) -> None:
    """Join `group` (or assign partitions without one) and fetch from `topic`."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        request_timeout_ms=8000,
        **options,
    )
    await asyncio.wait_for(consumer.start(), PATIENCE)
    try:
        if group is None:  # fetch partition 0 from its start, as the auditor does
            partition = TopicPartition(topic, 0)
            consumer.assign([partition])
            await asyncio.wait_for(consumer.seek_to_beginning(partition), PATIENCE)
            await asyncio.wait_for(consumer.position(partition), PATIENCE)
        else:
            consumer.subscribe([topic])
        await asyncio.wait_for(consumer.getmany(timeout_ms=3000), PATIENCE)
    finally:
        await consumer.stop()


def tls_only() -> dict[str, Any]:
    """TLS that trusts the broker, but no SASL: a client without credentials."""
    cafile = ServiceSettings(service_name="x").kafka_ca_file
    return {"security_protocol": "SSL", "ssl_context": create_ssl_context(cafile=str(cafile))}


@pytest.fixture
def bootstrap(infra: ServiceSettings) -> str:
    return infra.kafka_bootstrap


async def test_a_client_without_credentials_can_neither_produce_nor_consume(bootstrap: str) -> None:
    """Attacker: anyone on the network with a plain Kafka client and no credentials.
    Stopped by: the broker's only client listener, which takes SASL_SSL and nothing else."""
    for attempt in (
        produce(bootstrap, CONSENT_EVENTS),
        consume_one(bootstrap, CONSENT_EVENTS, None),
    ):
        with pytest.raises((KafkaConnectionError, asyncio.TimeoutError, KafkaError)):
            await attempt
    with pytest.raises((KafkaConnectionError, asyncio.TimeoutError, KafkaError)):
        await produce(bootstrap, CONSENT_EVENTS, **tls_only())


async def test_valid_credentials_over_plaintext_are_refused(bootstrap: str) -> None:
    """Attacker: a client that sends a real principal's password without TLS (so that
    anyone on the path could read it). Stopped by: no plaintext listener to send it to."""
    plaintext = {**tool_options("requests"), "security_protocol": "SASL_PLAINTEXT"}
    plaintext.pop("ssl_context")
    with pytest.raises((KafkaConnectionError, asyncio.TimeoutError, KafkaError)):
        await produce(bootstrap, topics.events_topic("requests"), **plaintext)


async def test_a_wrong_password_is_refused(bootstrap: str) -> None:
    """Attacker: someone who knows a principal's name but not its password.
    Stopped by: SCRAM-SHA-512 authentication."""
    wrong = {**tool_options("requests"), "sasl_plain_password": uuid.uuid4().hex}
    with pytest.raises(KafkaError):
        await produce(bootstrap, topics.events_topic("requests"), **wrong)
    await produce(bootstrap, topics.events_topic("requests"), **tool_options("requests"))


async def test_the_requests_principal_cannot_write_to_consent_events(bootstrap: str) -> None:
    """Attacker: the requests service's credentials (a compromised requests pod) writing a
    ConsentGranted to consent.events. Stopped by: the ACLs, which give requests WRITE on
    its own topics only; it still writes requests.events."""
    with pytest.raises(TopicAuthorizationFailedError):
        await produce(bootstrap, CONSENT_EVENTS, **tool_options("requests"))
    await produce(bootstrap, topics.events_topic("requests"), **tool_options("requests"))


@pytest.mark.parametrize("intruder", [*(s for s in topics.SERVICES if s != "records"), AUDITOR])
async def test_no_other_principal_can_join_the_records_consumer_group(
    bootstrap: str, intruder: str
) -> None:
    """Attacker: another service's (or the auditor's) credentials joining group `records`,
    to take partitions away from records and commit its offsets past unread events.
    Stopped by: the ACLs, which give READ on group `records` to records alone."""
    # A topic the intruder may read, where it has one: only the group is refused.
    readable = (*topics.CONSUMES.get(intruder, ()), RECORDS_EVENTS)[0]
    with pytest.raises(GroupAuthorizationFailedError):
        await consume_one(bootstrap, readable, "records", **tool_options(intruder))


async def test_records_joins_its_own_group(bootstrap: str) -> None:
    """The same request as the intruders', by the one principal allowed to make it."""
    await consume_one(bootstrap, CONSENT_EVENTS, "records", **tool_options("records"))


async def test_the_auditor_cannot_write(bootstrap: str) -> None:
    """Attacker: the auditor's credentials (read-only by design) used to add or overwrite
    history. Stopped by: the ACLs, which give the auditor READ and DESCRIBE only."""
    for topic in (CONSENT_EVENTS, topics.CHECKPOINTS_TOPIC, topics.KEYS_TOPIC):
        with pytest.raises(TopicAuthorizationFailedError):
            await produce(bootstrap, topic, **tool_options(AUDITOR))
    await consume_one(bootstrap, CONSENT_EVENTS, None, **tool_options(AUDITOR))


async def test_a_service_cannot_read_what_it_does_not_consume(bootstrap: str) -> None:
    """Attacker: the benefits service's credentials reading consent.events (who consented to
    what). Stopped by: the ACLs, which give READ only on the topics a service consumes: the
    broker answers TOPIC_AUTHORIZATION_FAILED for consent.events, and serves identity.events."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **tool_options("benefits"))
    await admin.start()
    try:
        described = {
            t["topic"]: t
            for t in await admin.describe_topics([CONSENT_EVENTS, topics.events_topic("identity")])
        }
    finally:
        await admin.close()
    assert described[CONSENT_EVENTS]["error_code"] == TopicAuthorizationFailedError.errno
    assert not described[CONSENT_EVENTS]["partitions"]
    assert described[topics.events_topic("identity")]["error_code"] == 0


async def test_consent_reads_identity_events_for_the_operators_reads_it_must_show(
    bootstrap: str,
) -> None:
    """Not an attack: the reader the topology added. Operators' reads of personal data reach
    the citizen's access history through identity.events, so the broker must serve them to
    consent (a fetch from the start, as the benefits refusal above is a fetch refused)."""
    assert topics.events_topic("identity") in topics.consumed_by("consent")
    await consume_one(bootstrap, topics.events_topic("identity"), None, **tool_options("consent"))


async def test_the_controller_listener_refuses_a_client_without_the_brokers_certificate(
    bootstrap: str,
) -> None:
    """Attacker: a client that goes round the client listener to the KRaft controller's
    port (deploy/local: the next port). Stopped by: TLS there requires a client certificate
    of the local CA, which only the broker holds; TLS alone, even trusting the CA, fails."""
    host, port = bootstrap.rsplit(":", 1)
    controller = os.environ.get("RSE_LOCAL_KAFKA_CONTROLLER_PORT", str(int(port) + 1))
    admin = AIOKafkaAdminClient(
        bootstrap_servers=f"{host}:{controller}", request_timeout_ms=5000, **tls_only()
    )
    with pytest.raises((KafkaConnectionError, asyncio.TimeoutError)):
        await asyncio.wait_for(admin.start(), PATIENCE)
    await admin.close()


def test_the_ssl_context_verifies_the_broker() -> None:
    """Clients check the broker's certificate against the CA (no man in the middle)."""
    context = tool_options("records")["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert tool_options("records")["sasl_mechanism"] == SASL_MECHANISM
