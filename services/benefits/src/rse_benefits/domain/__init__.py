"""Benefits' aggregates: beneficiaries and their user-fee exemptions."""
