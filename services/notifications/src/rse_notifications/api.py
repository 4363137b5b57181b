"""Notifications' HTTP API: a citizen's notifications and their choice of channels."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from rse_notifications.application import NotificationsApplication
from rse_notifications.domain.preferences import Channel, Kind
from rse_notifications.domain.recipient import Recipient
from rse_notifications.projections import ChannelOutcome, NotificationDocument, notifications_of
from rse_shared.api import Strict, citizen_or, get_app
from rse_shared.auth import Principal
from rse_shared.eventstore import in_thread
from rse_shared.service import ReadModels


class NotificationView(BaseModel):
    """One notification: what it was about and, per channel, sent / failed and when."""

    notification_id: str
    kind: str
    subject: str
    requested_at: datetime
    due_at: datetime
    channels: dict[str, ChannelOutcome]


class Preferences(BaseModel):
    """The channels for each kind (access alerts are sent only as consent's setting says)."""

    channels: dict[Kind, list[Channel]]


class PreferencesChoice(Strict):
    """Channels for some kinds; the others keep theirs. Prescriptions keep at least one."""

    channels: Annotated[dict[Kind, Annotated[list[Channel], Field(max_length=2)]], Field()]


App = Annotated[NotificationsApplication, Depends(get_app)]
TheCitizen = Annotated[Principal, Depends(citizen_or(detail="only the citizen may see this"))]
CitizenOrOperator = Annotated[
    Principal, Depends(citizen_or("operator", detail="a citizen may only see their own"))
]

citizens = APIRouter(prefix="/citizens/{citizen_id}", tags=["citizens"])


def _view(doc: NotificationDocument) -> NotificationView:
    return NotificationView(
        notification_id=doc.id,
        kind=doc.kind,
        subject=doc.subject,
        requested_at=doc.requested_at,
        due_at=doc.due_at,
        channels=doc.channels,
    )


def _preferences(recipient: Recipient) -> Preferences:
    return Preferences(channels={k: list(v) for k, v in recipient.channels.items()})


@citizens.get("/notifications", response_model=list[NotificationView])
async def list_notifications(
    citizen_id: uuid.UUID, db: ReadModels, _: CitizenOrOperator
) -> list[NotificationView]:
    """The citizen's notifications, newest first: per channel sent / failed / pending, when."""
    return [_view(d) for d in await notifications_of(db, str(citizen_id))]


@citizens.get("/notification-preferences", response_model=Preferences)
async def get_preferences(citizen_id: uuid.UUID, app: App, _: TheCitizen) -> Preferences:
    """The channels the citizen is reached on, per kind."""
    return _preferences(await in_thread(app.recipient, citizen_id))


@citizens.put("/notification-preferences", response_model=Preferences)
async def choose_preferences(
    citizen_id: uuid.UUID, body: PreferencesChoice, app: App, _: TheCitizen
) -> Preferences:
    """Choose the channels for some kinds."""
    channels = {str(k): [str(c) for c in v] for k, v in body.channels.items()}
    return _preferences(await in_thread(app.choose_preferences, citizen_id, channels))
