"""Requests' read models in MongoDB, fed from its own log, and the queries over them.

One module per read model (patients, agenda, renewals, referrals), each with its queries;
the names are re-exported here, where bootstrap and the API import them.
"""

from __future__ import annotations

from rse_requests.projections.agenda import Agenda, agenda_of, appointments_of, free_slots
from rse_requests.projections.patients import Patients, exempt_citizens, patient_of
from rse_requests.projections.referrals import Referrals, breach_due, referrals_by, referrals_of
from rse_requests.projections.renewals import Renewals, renewal_of, renewals_for, renewals_of
from rse_requests.projections.store import Db, set_stored

PROJECTIONS = (Patients(), Agenda(), Renewals(), Referrals())

__all__ = [
    "PROJECTIONS",
    "Agenda",
    "Db",
    "Patients",
    "Referrals",
    "Renewals",
    "agenda_of",
    "appointments_of",
    "breach_due",
    "exempt_citizens",
    "free_slots",
    "patient_of",
    "referrals_by",
    "referrals_of",
    "renewal_of",
    "renewals_for",
    "renewals_of",
    "set_stored",
]
