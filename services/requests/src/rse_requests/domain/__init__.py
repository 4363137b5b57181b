"""Requests' aggregates: patients, slots, medication renewals and SIGA referrals."""
