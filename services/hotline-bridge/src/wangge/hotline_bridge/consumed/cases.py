"""The cases service's events the hotline bridge reads: a complaint case taken on accepts its
ticket (签收), and its resolution is the ticket's reply (办结)."""

from __future__ import annotations

import uuid

from wangge.events import IntegrationEvent


class CaseOpened(IntegrationEvent):
    event_type = "wangge.cases.CaseOpened"
    case_id: uuid.UUID
    ticket_id: uuid.UUID | None = None


class CaseAccepted(IntegrationEvent):
    event_type = "wangge.cases.CaseAccepted"
    case_id: uuid.UUID


class CaseResolved(IntegrationEvent):
    event_type = "wangge.cases.CaseResolved"
    case_id: uuid.UUID
    resolution: str
    solved: bool
    at_source: bool
