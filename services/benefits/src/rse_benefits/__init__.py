"""RSE benefits service: user-fee exemptions and SNS benefits."""
