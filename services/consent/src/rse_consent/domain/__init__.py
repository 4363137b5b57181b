"""Consent's aggregates: consents, recorded accesses, access alerts and alert preferences."""
