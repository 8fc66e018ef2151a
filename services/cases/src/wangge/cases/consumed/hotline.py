"""The hotline bridge's events the cases service reads: routed tickets become complaint cases,
repeated complaints proactive ones; the hotline's follow-up closes or reopens them, and a ticket
returned to the hotline (退单) closes its case."""

from __future__ import annotations

import uuid
from datetime import datetime

from wangge.events import IntegrationEvent


class TicketReceived(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketReceived"
    ticket_id: uuid.UUID
    ticket_number: str
    category_name: str
    kind: str
    content: str
    address: str
    deadline: datetime


class TicketRoutedToGrid(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketRoutedToGrid"
    ticket_id: uuid.UUID
    grid_id: uuid.UUID


class TicketReturned(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketReturned"
    ticket_id: uuid.UUID
    reason: str


class TicketReopened(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketReopened"
    ticket_id: uuid.UUID
    reason: str


class TicketClosed(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketClosed"
    ticket_id: uuid.UUID


class TicketFollowedUp(IntegrationEvent):
    event_type = "wangge.hotline_bridge.TicketFollowedUp"
    ticket_id: uuid.UUID
    satisfaction: str
    resolved: bool
    note: str | None = None


class RepeatedComplaintsNoticed(IntegrationEvent):
    event_type = "wangge.hotline_bridge.RepeatedComplaintsNoticed"
    hotspot_id: uuid.UUID
    address: str
    category_name: str
    ticket_ids: list[uuid.UUID]
    window_days: int
