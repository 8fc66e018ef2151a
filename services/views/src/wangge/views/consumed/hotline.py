"""The hotline bridge's events as the views service reads them: 12345 tickets from
receipt to the caller's rating.

Every event type, each a tolerant reader of the fields in clear (sealed blocks are never
read here: this service holds no data keys).

Generated from the producer's models; a view that needs a field the producer adds later adds it
here (with a default, so that older events still read)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from wangge.events import IntegrationEvent


class CallerErased(IntegrationEvent):
    event_type = "wangge.hotline_bridge.CallerErased"
    ticket_id: uuid.UUID
    legal_ground: str


class RepeatedComplaintsNoticed(IntegrationEvent):
    event_type = "wangge.hotline_bridge.RepeatedComplaintsNoticed"
    hotspot_id: uuid.UUID
    address: str
    address_key: str
    category: str
    category_name: str
    ticket_ids: list[uuid.UUID]
    window_days: int


class ReplyDelivered(IntegrationEvent):
    event_type = "wangge.hotline_bridge.ReplyDelivered"
    ticket_id: uuid.UUID
    delivery_id: uuid.UUID
    attempt: int


class ReplyDeliveryFailed(IntegrationEvent):
    event_type = "wangge.hotline_bridge.ReplyDeliveryFailed"
    ticket_id: uuid.UUID
    delivery_id: uuid.UUID
    attempt: int
    error: str
    next_attempt_at: datetime | None


class ReplyDeliveryRetried(IntegrationEvent):
    event_type = "wangge.hotline_bridge.ReplyDeliveryRetried"
    ticket_id: uuid.UUID
    delivery_id: uuid.UUID


class TicketAccepted(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketAccepted"
    ticket_id: uuid.UUID
    grid_id: uuid.UUID


class TicketAwaitingTriage(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketAwaitingTriage"
    ticket_id: uuid.UUID
    reasons: list[str]


class TicketClosed(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketClosed"
    ticket_id: uuid.UUID


class TicketExtensionDecided(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketExtensionDecided"
    ticket_id: uuid.UUID
    approved: bool
    deadline: datetime
    note: str | None = None


class TicketExtensionRequested(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketExtensionRequested"
    ticket_id: uuid.UUID
    until: datetime
    reason: str


class TicketFollowedUp(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketFollowedUp"
    ticket_id: uuid.UUID
    satisfaction: str
    resolved: bool
    note: str | None = None


class TicketLinkedAsDuplicate(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketLinkedAsDuplicate"
    ticket_id: uuid.UUID
    duplicate_of: uuid.UUID
    reason: str


class TicketReceived(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketReceived"
    ticket_id: uuid.UUID
    ticket_number: str
    channel: str
    received_at: datetime
    category: str
    category_name: str
    kind: str
    content: str
    address: str
    location: dict[str, Any] | None = None
    urgency: str
    deadline: datetime
    deadline_source: str
    caller_name_masked: str | None = None
    caller_phone_masked: str | None = None
    push_fingerprint: str
    door: str = "hotline"


class TicketReminderRaised(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketReminderRaised"
    ticket_id: uuid.UUID
    grid_id: uuid.UUID | None
    level: str
    deadline: datetime


class TicketReopened(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketReopened"
    ticket_id: uuid.UUID
    reason: str
    deadline: datetime


class TicketReplied(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketReplied"
    ticket_id: uuid.UUID
    reply: str
    solved: bool
    at_source: bool
    delivery_id: uuid.UUID


class TicketReturned(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketReturned"
    ticket_id: uuid.UUID
    reason: str
    by: str


class TicketRoutedToGrid(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketRoutedToGrid"
    ticket_id: uuid.UUID
    grid_id: uuid.UUID
    method: str
    place_id: uuid.UUID | None = None
    score: float | None = None
    detail: str
