"""RSE consent service: consents, access history, access alerts."""
