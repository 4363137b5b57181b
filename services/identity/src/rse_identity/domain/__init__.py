"""Identity's aggregates, one module each: citizen, nif_claim, account."""
