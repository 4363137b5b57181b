"""The citizen's contacts, handed to notifications alone: sealed, on identity's channel.

identity.events never carries an e-mail address or a phone number (every service reads
it); notifications needs them to reach the citizen, so they go sealed to its public key
on `identity.contacts`, which only notifications may read (rse_shared.acl).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from rse_identity.domain.citizen import Citizen
from rse_shared.contracts import ContactsSealed, IntegrationEvent
from rse_shared.published import Envelope, Publisher
from rse_shared.sealed import seal


def contacts_channel(notifications_key: X25519PublicKey) -> Publisher:
    """What identity publishes on its contacts channel: the contacts as they now are."""
    publisher = Publisher("identity", citizen_of=lambda event: event.originator_id)

    def sealed(envelope: Envelope, contacts: dict[str, str]) -> ContactsSealed:
        context = ContactsSealed.context_for(envelope["citizen_id"])
        return ContactsSealed(**envelope, sealed=seal(notifications_key, contacts, context))

    @publisher.translates(Citizen.Registered)
    def registered(event: Citizen.Registered, envelope: Envelope) -> IntegrationEvent:
        # A citizen registered through the identity provider has no phone yet: none is sent.
        contacts = {"email": event.email, "phone": event.phone}
        return sealed(envelope, {k: v for k, v in contacts.items() if v})

    @publisher.translates(Citizen.PersonalDataUpdated)
    def updated(event: Citizen.PersonalDataUpdated, envelope: Envelope) -> IntegrationEvent:
        # Only the contacts that changed travel (none, if only the address did).
        contacts = {k: v for k, v in event.changed.items() if k in ("email", "phone")}
        return sealed(envelope, contacts)

    return publisher
