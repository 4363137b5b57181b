"""RSE requests service: appointments, medication renewals, SIGA referrals."""
