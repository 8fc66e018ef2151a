"""Tickets of the 12345 hotline: what a pushed ticket becomes, and when it is due.

One module per concern (the events, the free texts, the state and its lifecycle, the intake,
routing, the grid's steps, the hotline's answers, the cases service's facts); everything is
re-exported here, so ``tickets.receive``, ``tickets.Ticket`` and the events read as one module.

A ticket's number is the hotline's; the ticket's id is derived from it (UUIDv5), so the same push
twice lands on the same stream and intake is idempotent by number without a lookup table. The
caller's name and phone are sealed with a data key of the ticket's own (the hotline's caller is a
person like any resident: erasing the key erases them from every copy of the log).

Free text is personal data until shown otherwise (DESIGN section 6): what the caller said, what
the grid replied, why it asked for time or gave the ticket back, what the follow-up call heard.
Each is sealed with the same key, and its clear field carries only its redacted copy
(:func:`wangge.governance.redaction.redact`), which routing, work lists and the other services read.
"""

from __future__ import annotations

from wangge.hotline_bridge.domain.tickets.dispatch import (
    dispatch,
    give_back,
    hold_for_triage,
    route,
)
from wangge.hotline_bridge.domain.tickets.events import (
    SEALED_DESCRIPTION,
    SERVICE,
    CallerErased,
    Channel,
    Door,
    Location,
    RepeatedComplaintsNoticed,
    ReplyDelivered,
    ReplyDeliveryFailed,
    ReplyDeliveryRetried,
    Satisfaction,
    TicketAccepted,
    TicketAwaitingTriage,
    TicketClosed,
    TicketExtensionDecided,
    TicketExtensionRequested,
    TicketFollowedUp,
    TicketLinkedAsDuplicate,
    TicketReceived,
    TicketReminderRaised,
    TicketReopened,
    TicketReplied,
    TicketReturned,
    TicketRoutedToGrid,
    Urgency,
)
from wangge.hotline_bridge.domain.tickets.from_cases import (
    case_accepted,
    case_resolved,
)
from wangge.hotline_bridge.domain.tickets.grid_work import (
    DELIVERIES,
    accept,
    remind,
    reply,
    request_extension,
    retry_delivery,
)
from wangge.hotline_bridge.domain.tickets.hotline_answers import (
    ExtensionDecision,
    FollowUp,
    ReplyOut,
    decide_extension,
    delivered,
    delivery_failed,
    follow_up,
)
from wangge.hotline_bridge.domain.tickets.lifecycle import (
    HANDLING,
    TICKET_IDS,
    Status,
    Ticket,
    WrongStatus,
    erase_caller,
    evolve,
    require,
    stream_id,
    ticket_id,
)
from wangge.hotline_bridge.domain.tickets.receipt import (
    CLOCK_SKEW,
    HOTSPOTS,
    KEYED,
    Digest,
    Intake,
    InvalidTicket,
    Neighbours,
    TicketNumberReused,
    hotspot_stream,
    keyed_fingerprint,
    link,
    receive,
    same_push,
)
from wangge.hotline_bridge.domain.tickets.texts import (
    REPLY_LENGTH,
    redacted,
    sealed_texts,
)

__all__ = [
    "CLOCK_SKEW",
    "DELIVERIES",
    "HANDLING",
    "HOTSPOTS",
    "KEYED",
    "REPLY_LENGTH",
    "SEALED_DESCRIPTION",
    "SERVICE",
    "TICKET_IDS",
    "CallerErased",
    "Channel",
    "Digest",
    "Door",
    "ExtensionDecision",
    "FollowUp",
    "Intake",
    "InvalidTicket",
    "Location",
    "Neighbours",
    "RepeatedComplaintsNoticed",
    "ReplyDelivered",
    "ReplyDeliveryFailed",
    "ReplyDeliveryRetried",
    "ReplyOut",
    "Satisfaction",
    "Status",
    "Ticket",
    "TicketAccepted",
    "TicketAwaitingTriage",
    "TicketClosed",
    "TicketExtensionDecided",
    "TicketExtensionRequested",
    "TicketFollowedUp",
    "TicketLinkedAsDuplicate",
    "TicketNumberReused",
    "TicketReceived",
    "TicketReminderRaised",
    "TicketReopened",
    "TicketReplied",
    "TicketReturned",
    "TicketRoutedToGrid",
    "Urgency",
    "WrongStatus",
    "accept",
    "case_accepted",
    "case_resolved",
    "decide_extension",
    "delivered",
    "delivery_failed",
    "dispatch",
    "erase_caller",
    "evolve",
    "follow_up",
    "give_back",
    "hold_for_triage",
    "hotspot_stream",
    "keyed_fingerprint",
    "link",
    "receive",
    "redacted",
    "remind",
    "reply",
    "request_extension",
    "require",
    "retry_delivery",
    "route",
    "same_push",
    "sealed_texts",
    "stream_id",
    "ticket_id",
]
