"""Records' HTTP API: citizens read their record; professionals write, and read by consent."""

from rse_records.api.dependencies import NO_CONSENT
from rse_records.api.entries import entries
from rse_records.api.professionals import professionals
from rse_records.api.records import records

__all__ = ["NO_CONSENT", "entries", "professionals", "records"]
