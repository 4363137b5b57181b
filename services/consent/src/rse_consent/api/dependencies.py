"""What consent's routes depend on: the application and who may reach a citizen's path."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends

from rse_consent.application import ConsentApplication
from rse_consent.domain.privileged_read import Seen
from rse_shared.api import PrivilegedRead, citizen_or, get_app, privileged_read
from rse_shared.eventstore import in_thread

App = Annotated[ConsentApplication, Depends(get_app)]

THE_CITIZEN = Depends(citizen_or(detail="only the citizen may do this"))
"""Consents are granted and revoked, and alerts read and chosen, by their citizen alone."""

THE_CITIZEN_OR_AUDITOR = Depends(
    citizen_or("auditor", detail="a citizen may only see their own consents and access history")
)
"""Consents and the access history are the citizen's to see, and an auditor's to check."""

AuditorRead = Annotated[PrivilegedRead | None, Depends(privileged_read("auditor"))]
"""An auditor says why they read a citizen's consents or history (422 if not); else None."""


async def recorded(
    app: ConsentApplication,
    citizen_id: uuid.UUID,
    read: PrivilegedRead | None,
    seen: Seen,
    entries: Iterable[tuple[str, str]],
) -> None:
    """Save an auditor's read in the citizen's history; raises (so nothing is answered) if
    it cannot be saved. The citizen's own reads are not recorded."""
    if read is not None:
        await in_thread(
            app.record_privileged_read,
            citizen_id,
            read.actor_id,
            "auditor",
            read.purpose,
            seen,
            list(entries),
        )
