"""The platform's Kafka topology, written once: every topic, who writes it, who reads it.

Everything that names a topic reads this module: the services' bootstraps (what the relay
publishes to, what the consumers subscribe to), the AsyncAPI document, `rse-status`, the
audit tools and the broker's access rules. Names here carry no deployment prefix; a
deployment that shares a cluster puts `Settings.topic_prefix` before each of them.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICES: tuple[str, ...] = (
    "identity",
    "consent",
    "records",
    "requests",
    "benefits",
    "notifications",
)
"""The services that publish events; each is also a Kafka principal and a consumer group."""

EVENT_PARTITIONS = 3
"""Partitions of an events topic: citizens are spread over them, keyed by citizen id."""

AUDIT_PARTITIONS = 1

CHECKPOINTS_TOPIC = "audit.checkpoints"
"""Signed chain heads, one stream for every relay (rse_shared.chain)."""

KEYS_TOPIC = "audit.keys"

DLQ_SUFFIX = ".dlq"
"""The relays' Ed25519 verification keys."""


def events_topic(service: str) -> str:
    """The topic a service publishes its integration events to."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}")
    return f"{service}.events"


@dataclass(frozen=True)
class Channel:
    """A restricted topic: one owner writes it, one reader alone may read it.

    What travels on it is sealed to the reader's public key (rse_shared.sealed): the
    broker's ACLs keep everyone else out, the seal keeps the auditor (who reads every
    topic) and anyone holding a copy of the log from the contents.
    """

    owner: str
    subject: str
    reader: str

    @property
    def name(self) -> str:
        return f"{self.owner}.{self.subject}"


CHANNELS: tuple[Channel, ...] = (
    # The e-prescription's access-and-dispensing and right-of-choice codes.
    Channel("records", "prescription-codes", "notifications"),
    # The citizen's e-mail address and mobile number.
    Channel("identity", "contacts", "notifications"),
)


def channel_topic(owner: str, subject: str) -> str:
    """The restricted topic `owner` writes `subject` to."""
    for channel in CHANNELS:
        if (channel.owner, channel.subject) == (owner, subject):
            return channel.name
    raise ValueError(f"unknown channel {owner}.{subject}")


def channels_of(owner: str) -> tuple[str, ...]:
    """The restricted topics `owner` writes, besides its events topic."""
    return tuple(c.name for c in CHANNELS if c.owner == owner)


def dlq_topic(group: str, topic: str) -> str:
    """The dead-letter topic of consumer group `group` for `topic`."""
    return f"{group}.{topic}{DLQ_SUFFIX}"


def dlq_parts(name: str, group: str) -> str | None:
    """The consumed topic (with any deployment prefix) of `group`'s dead-letter topic `name`,
    or None if `name` is not one of `group`'s."""
    head = f"{group}."
    if name.startswith(head) and name.endswith(DLQ_SUFFIX):
        return name[len(head) : -len(DLQ_SUFFIX)]
    return None


CONSUMES: dict[str, tuple[str, ...]] = {
    "identity": (),
    # identity: operators' reads of personal data, for the citizen's access history;
    # requests and benefits: what a proxy did for the citizen, for the same history.
    "consent": (
        events_topic("records"),
        events_topic("identity"),
        events_topic("requests"),
        events_topic("benefits"),
    ),
    "records": (events_topic("identity"), events_topic("consent"), events_topic("requests")),
    "requests": (events_topic("identity"), events_topic("records"), events_topic("benefits")),
    "benefits": (events_topic("identity"),),
    "notifications": (
        events_topic("identity"),
        events_topic("consent"),
        events_topic("requests"),
        events_topic("benefits"),
        channel_topic("records", "prescription-codes"),
        channel_topic("identity", "contacts"),
    ),
}
"""The topics each service consumes, in its consumer group (by default the service's name)."""


@dataclass(frozen=True)
class Topic:
    """One topic: its name, the principals that write it, the groups that read it."""

    name: str
    writers: tuple[str, ...]
    readers: tuple[str, ...]
    partitions: int

    @property
    def owner(self) -> str | None:
        """The one service that publishes it, if only one does."""
        return self.writers[0] if len(self.writers) == 1 else None

    def dlq(self, group: str) -> str:
        """Where consumer group `group` puts the messages of this topic it could not apply."""
        return dlq_topic(group, self.name)


def consumed_by(service: str) -> tuple[str, ...]:
    """The topics `service` consumes."""
    return CONSUMES[service]


def consumers_of(topic: str) -> tuple[str, ...]:
    """The services that consume `topic`, sorted."""
    return tuple(sorted(s for s, topics in CONSUMES.items() if topic in topics))


def owner_of(topic: str) -> str | None:
    """The service that publishes an events topic or a channel (None for any other topic)."""
    for channel in CHANNELS:
        if topic == channel.name:
            return channel.owner
    service, dot, rest = topic.partition(".")
    return service if dot and rest == "events" and service in SERVICES else None


def event_topics() -> tuple[Topic, ...]:
    """Every `<service>.events` topic."""
    return tuple(
        Topic(events_topic(s), (s,), consumers_of(events_topic(s)), EVENT_PARTITIONS)
        for s in SERVICES
    )


def channel_topics() -> tuple[Topic, ...]:
    """Every restricted channel: its owner writes it, its reader alone reads it."""
    return tuple(
        Topic(c.name, (c.owner,), consumers_of(c.name), EVENT_PARTITIONS) for c in CHANNELS
    )


def audit_topics() -> tuple[Topic, ...]:
    """The relays' checkpoints and keys: every service writes them, auditors read them."""
    return tuple(
        Topic(name, SERVICES, (), AUDIT_PARTITIONS) for name in (CHECKPOINTS_TOPIC, KEYS_TOPIC)
    )


def dead_letter_topics() -> tuple[Topic, ...]:
    """One per (consumer group, consumed topic), written by that group's service."""
    return tuple(
        Topic(dlq_topic(s, t), (s,), (), EVENT_PARTITIONS) for s in SERVICES for t in CONSUMES[s]
    )


def all_topics() -> tuple[Topic, ...]:
    """Every topic of the platform."""
    return event_topics() + channel_topics() + audit_topics() + dead_letter_topics()


def consumer_pairs() -> list[tuple[str, str]]:
    """Every (consumer group, consumed topic) pair, sorted."""
    return sorted((s, t) for s, topics in CONSUMES.items() for t in topics)


def partitions_of(topic: str) -> int:
    """Partitions of a topology topic, also under a deployment prefix; an events topic's else."""
    for known in all_topics():
        if topic == known.name or topic.endswith("." + known.name):
            return known.partitions
    return EVENT_PARTITIONS
