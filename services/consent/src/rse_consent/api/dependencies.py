"""What consent's routes depend on: the application and who may reach a citizen's path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from rse_consent.application import ConsentApplication
from rse_shared.api import citizen_or, get_app

App = Annotated[ConsentApplication, Depends(get_app)]

THE_CITIZEN = Depends(citizen_or(detail="only the citizen may do this"))
"""Consents are granted and revoked, and alerts read and chosen, by their citizen alone."""

THE_CITIZEN_OR_AUDITOR = Depends(
    citizen_or("auditor", detail="a citizen may only see their own consents and access history")
)
"""Consents and the access history are the citizen's to see, and an auditor's to check."""
