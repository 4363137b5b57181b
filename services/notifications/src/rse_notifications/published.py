"""What notifications publishes: nothing yet.

Its events (a notification requested, delivered, failed) stay inside the service: the
citizen reads them through its API, and their text may hold a prescription's codes.
"""

from __future__ import annotations

from rse_shared.published import Publisher

to_integration_event = Publisher("notifications")
