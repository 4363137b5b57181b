"""A citizen as notifications knows them: contacts (from identity) and chosen channels."""

from __future__ import annotations

import uuid

from eventsourcing.domain import Aggregate, event

from rse_notifications.domain.preferences import DEFAULT_CHANNELS, Channel, Kind, chosen
from rse_shared.eventstore import natural_id


class Recipient(Aggregate):
    """One per citizen: where to reach them and on which channels for each kind."""

    class Opened(Aggregate.Created):
        citizen_id: uuid.UUID

    class ContactsChanged(Aggregate.Event):
        """identity's sealed contacts: only the fields that changed."""

        citizen_id: uuid.UUID
        contacts: dict[str, str]

    class PreferencesChosen(Aggregate.Event):
        citizen_id: uuid.UUID
        channels: dict[str, list[str]]

    class Deregistered(Aggregate.Event):
        citizen_id: uuid.UUID

    @staticmethod
    def create_id(citizen_id: uuid.UUID) -> uuid.UUID:
        return natural_id("recipient", str(citizen_id))

    @event(Opened)
    def __init__(self, citizen_id: uuid.UUID) -> None:
        self.citizen_id = citizen_id
        self.contacts: dict[str, str] = {}
        self.channels: dict[Kind, tuple[Channel, ...]] = dict(DEFAULT_CHANNELS)
        self.deregistered = False

    def change_contacts(self, contacts: dict[str, str]) -> None:
        changed = {k: v for k, v in contacts.items() if self.contacts.get(k) != v}
        if changed:
            self._contacts_changed(citizen_id=self.citizen_id, contacts=changed)

    @event(ContactsChanged)
    def _contacts_changed(self, citizen_id: uuid.UUID, contacts: dict[str, str]) -> None:
        self.contacts.update(contacts)

    def choose(self, channels: dict[str, list[str]]) -> None:
        """The citizen's choice over the defaults (InvalidPreferences if it cannot be kept)."""
        self._preferences_chosen(
            citizen_id=self.citizen_id, channels={k: list(v) for k, v in chosen(channels).items()}
        )

    @event(PreferencesChosen)
    def _preferences_chosen(self, citizen_id: uuid.UUID, channels: dict[str, list[str]]) -> None:
        self.channels = chosen(channels)

    def deregister(self) -> None:
        if not self.deregistered:
            self._deregistered(citizen_id=self.citizen_id)

    @event(Deregistered)
    def _deregistered(self, citizen_id: uuid.UUID) -> None:
        self.deregistered = True

    def addresses_for(self, kind: Kind) -> list[dict[str, str | None]]:
        """Each channel chosen for `kind` with the address on file (None: none known)."""
        if self.deregistered:
            return []
        return [
            {"channel": channel, "address": self.contacts.get(_CONTACT[channel])}
            for channel in self.channels[kind]
        ]


_CONTACT: dict[Channel, str] = {"email": "email", "sms": "phone"}
