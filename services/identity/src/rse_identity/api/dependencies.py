"""What identity's routes depend on: the application, the token issuer, the callers' roles."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from rse_identity.application import IdentityApplication
from rse_identity.tokens import TokenIssuer
from rse_shared.api import PrivilegedRead, citizen_or, get_app, privileged_read, state
from rse_shared.auth import Principal, require_roles
from rse_shared.service import ReadModels

App = Annotated[IdentityApplication, Depends(get_app)]
Issuer = Annotated[TokenIssuer, Depends(state("token_issuer"))]
Operator = Annotated[Principal, Depends(require_roles("operator"))]
CitizenOrOperator = Annotated[
    Principal, Depends(citizen_or("operator", detail="a citizen may only see their own data"))
]
# An operator reading a citizen's personal data says why; the citizen's history shows it.
OperatorRead = Annotated[PrivilegedRead | None, Depends(privileged_read("operator"))]

__all__ = ["App", "CitizenOrOperator", "Issuer", "Operator", "OperatorRead", "ReadModels"]
