"""A producer's second relay: its restricted channel, fed from the same notification log.

The channel's relay is an OutboxRelay of its own (its own position, chain and advisory
lock, `relay:<channel topic>`), so the events topic and the channel never wait for each
other and each is chained and checkpointed like any topic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from eventsourcing.application import Application

from rse_shared.kafka import client_options
from rse_shared.keys import load_or_create_key
from rse_shared.loops import Worker
from rse_shared.relay import OutboxRelay, Translator
from rse_shared.sealed import load_public_key
from rse_shared.settings import ServiceSettings
from rse_shared.topics import channel_topic, events_topic


def channel_name(owner: str, subject: str, events: str | None) -> str:
    """The channel's topic beside `events` (the events topic a test or deployment chose)."""
    channel = channel_topic(owner, subject)
    standard = events_topic(owner)
    if events is None or events == standard:
        return channel
    # A test's fresh `t.<id>.records.events` gets `t.<id>.records.prescription-codes`.
    return events.removesuffix(standard) + channel


def channel_relay(
    settings: ServiceSettings, app: Application[Any], translate: Translator, topic: str
) -> Worker:
    """The relay of `app`'s notification log to its channel `topic` (one active replica)."""
    relay = OutboxRelay(
        app,
        translate,
        topic=settings.topic_prefix + topic,
        bootstrap=settings.kafka_bootstrap,
        conninfo=settings.postgres_conninfo(),
        poll_interval=settings.relay_poll_interval,
        producer=settings.service_name,
        kafka=client_options(settings),
        audit_key=load_or_create_key(settings.audit_key_file),
        checkpoint_interval=settings.checkpoint_interval,
    )
    return relay.run


def reader_key(settings: ServiceSettings, path: Path | None, reader: str) -> X25519PublicKey:
    """The channel reader's public key: from `path`, else deploy/local's `<reader>_seal.pub`
    outside production. Required: nothing is ever sent on a channel unsealed."""
    if path is None and settings.secrets_dir is not None:
        path = settings.secrets_dir / f"{reader}_seal.pub"
    if path is None or not path.exists():
        raise ValueError(f"no sealing key for {reader}: {path} (deploy/local/secrets.sh makes it)")
    return load_public_key(path)
