"""Request bodies and views of acting for someone: relationships and the token exchange."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from rse_identity.proxy_projection import ProxyDocument
from rse_shared.api import Strict
from rse_shared.proxy import TOKEN_EXCHANGE, Scope

Reference = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Guardianship(Strict):
    """An operator establishes a legal guardian of a minor, the documents checked."""

    minor_id: uuid.UUID
    guardian_id: uuid.UUID
    documents: Reference  # what the operator checked (e.g. the birth certificate's number)


class Appointment(Strict):
    """The citizen (or an operator, from RENTEV) appoints a caregiver or healthcare proxy."""

    kind: Literal["informal_caregiver", "healthcare_proxy"]
    proxy_id: uuid.UUID
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=6)]
    valid_until: date | None = None
    rentev_reference: Reference | None = None  # the living will's registration in RENTEV


class RelationshipCreated(BaseModel):
    """The new relationship's id."""

    relationship_id: uuid.UUID


class TokenExchange(Strict):
    """RFC 8693: the proxy, signed in as themself, asks for a token acting for `subject`."""

    grant_type: Literal["urn:ietf:params:oauth:grant-type:token-exchange"] = TOKEN_EXCHANGE
    subject: uuid.UUID  # the represented citizen
    scope: Annotated[str, Field(max_length=200, pattern=r"^[a-z. ]*$")] | None = None


class ActingToken(BaseModel):
    """An access token acting for the represented citizen, limited to the scopes granted."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    issued_token_type: str = "urn:ietf:params:oauth:token-type:access_token"
    expires_in: int
    scope: str
    relationship_id: uuid.UUID


class ProxyView(BaseModel):
    """One relationship as its parties see it."""

    relationship_id: uuid.UUID
    kind: str
    represented_id: uuid.UUID
    proxy_id: uuid.UUID
    scopes: list[str]
    valid_from: date
    valid_until: date | None
    status: str
    closed_because: str | None

    @classmethod
    def of(cls, doc: ProxyDocument) -> ProxyView:
        return cls(
            relationship_id=uuid.UUID(doc.id),
            kind=doc.kind,
            represented_id=uuid.UUID(doc.represented_id),
            proxy_id=uuid.UUID(doc.proxy_id),
            scopes=doc.scopes,
            valid_from=doc.valid_from,
            valid_until=doc.valid_until,
            status=doc.status,
            closed_because=doc.closed_because,
        )


class Proxies(BaseModel):
    """Who acts for the citizen, and for whom the citizen acts."""

    represented_by: list[ProxyView]
    acting_for: list[ProxyView]
