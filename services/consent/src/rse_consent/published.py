"""What consent publishes: its consents' grants, revocations and lapses, and access alerts.

Recorded accesses (records published them), staff reads of a citizen's data (identity
reported operators'; auditors' are consent's own), alert preferences and reads stay here.
"""

from __future__ import annotations

from rse_consent.domain.alert import AccessAlert
from rse_consent.domain.consent import Consent
from rse_shared.contracts import AccessAlertRaised, ConsentExpired, ConsentGranted, ConsentRevoked
from rse_shared.published import Envelope, Publisher

to_integration_event = Publisher("consent")


@to_integration_event.translates(Consent.Granted)
def consent_granted(event: Consent.Granted, envelope: Envelope) -> ConsentGranted:
    return ConsentGranted(
        **envelope,
        consent_id=event.originator_id,
        grantee_kind=event.grantee_kind,
        grantee_id=event.grantee_id,
        categories=tuple(event.categories),
        purpose=event.purpose,
        valid_from=event.valid_from,
        valid_until=event.valid_until,
    )


@to_integration_event.translates(Consent.Revoked)
def consent_revoked(event: Consent.Revoked, envelope: Envelope) -> ConsentRevoked:
    return ConsentRevoked(**envelope, consent_id=event.originator_id, revoked_at=event.revoked_at)


@to_integration_event.translates(Consent.Expired)
def consent_expired(event: Consent.Expired, envelope: Envelope) -> ConsentExpired:
    return ConsentExpired(**envelope, consent_id=event.originator_id, expired_at=event.expired_at)


@to_integration_event.translates(AccessAlert.Raised)
def access_alert_raised(event: AccessAlert.Raised, envelope: Envelope) -> AccessAlertRaised:
    # The alert continues records' report of the access: same correlation, caused by it.
    return AccessAlertRaised(
        **envelope,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        alert_id=event.originator_id,
        access_id=event.access_id,
        practitioner_id=event.practitioner_id,
        health_unit=event.health_unit,
        categories=tuple(event.categories),
        decision=event.decision,
        accessed_at=event.accessed_at,
        action=event.action,
    )
