"""The base of events that travel on a restricted channel (rse_shared.topics.CHANNELS)."""

from __future__ import annotations

from typing import ClassVar

from rse_shared.contracts.envelope import IntegrationEvent


class SealedEvent(IntegrationEvent):
    """An event whose payload is sealed to the channel's reader (rse_shared.sealed).

    Only the envelope (and what its subclass names) is in clear; `sealed` opens under
    `seal_context`, which ties the box to this event's type and citizen.
    """

    channel_subject: ClassVar[str]
    """Its channel, `<producer>.<channel_subject>` (rse_shared.topics.CHANNELS)."""

    sealed: str

    @property
    def seal_context(self) -> str:
        return f"{self.event_type}:{self.citizen_id}"

    @classmethod
    def context_for(cls, citizen_id: object) -> str:
        """The context a producer seals this type's payload under for `citizen_id`."""
        return f"{cls.__name__}:{citizen_id}"
