"""What a citizen is told of, and how: the kinds of notification and the channels for each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

Kind = Literal[
    "prescription",
    "access_alert",
    "appointment",
    "appointment_reminder",
    "renewal",
    "exemption",
    "referral",
]
KINDS: tuple[Kind, ...] = (
    "prescription",
    "access_alert",
    "appointment",
    "appointment_reminder",
    "renewal",
    "exemption",
    "referral",
)
Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")

DEFAULT_CHANNELS: dict[Kind, tuple[Channel, ...]] = {
    # The codes are needed at the pharmacy counter: on the phone as well as in the mailbox.
    "prescription": ("email", "sms"),
    "access_alert": ("email",),
    "appointment": ("email",),
    "appointment_reminder": ("email", "sms"),
    "renewal": ("email",),
    "exemption": ("email",),
    "referral": ("email",),
}
"""Until the citizen chooses. Whether an access is alerted at all is consent's setting:
consent raises AccessAlertRaised only for an emergency or a citizen who opted in."""


class InvalidPreferences(ValueError):
    """A choice of channels the platform cannot honour."""


def chosen(choice: Mapping[str, Sequence[str]]) -> dict[Kind, tuple[Channel, ...]]:
    """The defaults with `choice` over them; a prescription keeps at least one channel."""
    channels = dict(DEFAULT_CHANNELS)
    for kind, picked in choice.items():
        if kind not in KINDS:
            raise InvalidPreferences(f"unknown kind of notification {kind!r}")
        unknown = [c for c in picked if c not in CHANNELS]
        if unknown:
            raise InvalidPreferences(f"unknown channel {unknown[0]!r}")
        channels[kind] = tuple(c for c in CHANNELS if c in picked)
    if not channels["prescription"]:
        raise InvalidPreferences("prescriptions need at least one channel: their codes")
    return channels
