"""Records' HTTP API: citizens read their record; professionals write, and read by consent."""

from rse_records.api.dependencies import NO_CONSENT, NO_RELATIONSHIP
from rse_records.api.emergencies import emergency_accesses
from rse_records.api.entries import entries
from rse_records.api.professionals import professionals
from rse_records.api.records import records

__all__ = [
    "NO_CONSENT",
    "NO_RELATIONSHIP",
    "emergency_accesses",
    "entries",
    "professionals",
    "records",
]
