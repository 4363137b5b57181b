"""What the relays and consumers publish beside integration events: checkpoints, keys,
dead letters.

These are contracts like the events: `rse_shared.chain` and `rse_shared.idempotent_consumer` build
them and publish their JSON, and the AsyncAPI document describes them from these models.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class Checkpoint(BaseModel):
    """A relay's signed chain head of one topic partition (rse_shared.chain.signed_checkpoint).

    The Ed25519 signature covers the canonical JSON of every other field.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    producer: str = Field(description="The publishing service.")
    topic: str = Field(description="The topic whose chain this is.")
    partition: int = Field(ge=0, description="The partition whose chain this is.")
    head: str = Field(
        pattern="^[0-9a-f]{64}$", description="`chain_hash` of the partition's last event."
    )
    count: int = Field(ge=0, description="Number of events in the chain up to `head`.")
    at: datetime = Field(description="When the checkpoint was signed.")
    key_id: str = Field(
        pattern="^[0-9a-f]{16}$", description="Id of the verification key on `audit.keys`."
    )
    signature: str = Field(description="Base64 Ed25519 signature.")


class VerificationKey(BaseModel):
    """A relay's Ed25519 public key (rse_shared.chain.public_key_document)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    producer: str = Field(description="The publishing service.")
    key_id: str = Field(
        pattern="^[0-9a-f]{16}$", description="First 16 hex digits of SHA-256 over the raw key."
    )
    public_key: str = Field(description="Base64 raw Ed25519 public key (32 bytes).")


class DeadLetterEntry(BaseModel):
    """A message a consumer could not apply (rse_shared.idempotent_consumer.IdempotentConsumer)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    group_id: str = Field(description="The consumer group (the consuming service).")
    topic: str = Field(description="The topic the message was read from.")
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    key: str | None = Field(description="The original key, as UTF-8 text.")
    value: str | None = Field(description="The original value, as UTF-8 text.")
    error: str = Field(description="Why it could not be applied.")
    attempts: int = Field(ge=1, description="How many times it was tried.")
    failed_at: datetime = Field(description="When it was dead-lettered.")
