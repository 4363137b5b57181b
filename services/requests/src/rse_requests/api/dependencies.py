"""What requests' routes depend on: the application, the fee, and who may call them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import Depends

from rse_requests.application import RequestsApplication
from rse_shared.api import citizen_or, get_app, state
from rse_shared.auth import Forbidden, Principal, require_roles

App = Annotated[RequestsApplication, Depends(get_app)]
Fee = Annotated[Decimal, Depends(state("consultation_fee"))]
Professional = Annotated[Principal, Depends(require_roles("professional"))]
# Referrals belong to hospitals: their staff move them on, not the referring professional.
HospitalStaffMember = Annotated[Principal, Depends(require_roles("hospital_staff"))]
# Citizens reach only their own requests.
OwnCitizen = Annotated[
    Principal, Depends(citizen_or(detail="a citizen may only reach their own requests"))
]


async def own_practitioner(practitioner_id: str, principal: Professional) -> Principal:
    """Professionals reach only their own agenda and the renewals addressed to them."""
    if principal.practitioner_id != practitioner_id:
        raise Forbidden("a professional may only reach their own agenda and requests")
    return principal


OwnPractitioner = Annotated[Principal, Depends(own_practitioner)]
