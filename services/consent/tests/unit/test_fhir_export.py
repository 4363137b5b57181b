import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent as FhirConsent

from rse_consent.api.schemas import facts_of
from rse_consent.domain.consent import Consent, Grantee
from rse_consent.projections import ConsentEntry
from rse_shared.fhir import collection, consent_resource
from rse_shared.testing import FhirValidator

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def as_document(consent: Consent) -> ConsentEntry:
    """The consent as the consent book stores it, read back."""
    entry = ConsentEntry(
        id=str(consent.id),
        citizen_id=str(consent.citizen_id),
        grantee_kind=consent.grantee.kind,
        grantee_id=consent.grantee.id,
        categories=consent.categories,
        purpose=consent.purpose,
        granted_at=consent.granted_at,
        valid_from=consent.valid_from,
        valid_until=consent.valid_until,
        revoked_at=consent.revoked_at,
        expired_at=consent.expired_at,
    )
    return ConsentEntry.model_validate(entry.to_mongo())


def exported(consent: Consent, now: datetime = NOW) -> FhirConsent:
    resource = consent_resource(facts_of(as_document(consent)), now)
    return FhirConsent.model_validate(resource)


@pytest.mark.parametrize(
    "grantee",
    [Grantee("professional", "P-100"), Grantee("health_unit", "USF Tejo"), Grantee("all_sns")],
)
def test_a_consent_exports_as_a_valid_r4_permit_for_its_grantee(
    grantee: Grantee, fhir_validator: FhirValidator
) -> None:
    consent = Consent.grant(uuid.uuid4(), grantee, ["all"], NOW, valid_until=NOW + 30 * DAY)
    assert fhir_validator.errors(consent_resource(facts_of(as_document(consent)), NOW)) == []
    resource = exported(consent)
    assert resource.status == "active"
    provision = resource.provision
    assert provision.type == "permit"
    assert [(c.system, c.code) for c in provision.purpose] == [
        ("http://terminology.hl7.org/CodeSystem/v3-ActReason", "TREAT")
    ]
    assert [c.code for c in provision.class_fhir] == list(consent.categories)
    assert provision.period.end == NOW + 30 * DAY
    reference = provision.actor[0].reference
    assert reference.type == ("Practitioner" if grantee.kind == "professional" else "Organization")
    assert reference.identifier.value == (grantee.id or "SNS")


def test_a_revoked_consent_is_inactive_and_its_period_ends_at_the_revocation() -> None:
    consent = Consent.grant(uuid.uuid4(), Grantee("all_sns"), ["vaccinations"], NOW)
    consent.revoke(NOW + DAY)
    resource = exported(consent, now=NOW + 2 * DAY)
    assert resource.status == "inactive" and resource.provision.period.end == NOW + DAY


def test_a_consent_past_its_end_date_is_inactive_even_before_the_worker_lapses_it() -> None:
    consent = Consent.grant(
        uuid.uuid4(), Grantee("all_sns"), ["vaccinations"], NOW, valid_until=NOW + DAY
    )
    assert exported(consent, now=NOW + DAY).status == "inactive"


def test_the_bundle_of_consents_validates_as_r4(fhir_validator: FhirValidator) -> None:
    consents = [
        Consent.grant(uuid.uuid4(), Grantee("all_sns"), ["care_plan"], NOW) for _ in range(2)
    ]
    consents[1].revoke(NOW + DAY)
    bundle = collection([consent_resource(facts_of(as_document(c)), NOW) for c in consents], NOW)
    assert fhir_validator.errors(bundle) == []
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection" and len(parsed.entry) == 2
    assert all(isinstance(e.resource, FhirConsent) for e in parsed.entry)
