"""Free text a ticket's steps record: sealed with the ticket's key, redacted in clear; and the
erasure of its caller, once."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from wangge.events import DomainEvent
from wangge.events.sealing import KeyRing, Seal
from wangge.governance.erasure import ErasureGround
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.catalogue import TicketKind
from wangge.hotline_bridge.domain.tickets import Satisfaction, Status

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
KEY = KeyRing.generate()
PHONE = "13912345678"


def _ticket(status: Status, **changes: Any) -> tickets.Ticket:
    ticket = tickets.Ticket(
        uuid.uuid4(), "GD1", "f", TicketKind.COMPLAINT, "0301", NOW, NOW + timedelta(days=13),
        status=status, grid_id=uuid.uuid4(),
    )  # fmt: skip
    return replace(ticket, **changes)


def _seal(ticket: tickets.Ticket) -> Seal:
    return KeyRing.sealer(KEY, ticket.ticket_id)


def _clear_and_sealed(event: DomainEvent, field: str, text: str) -> None:
    assert PHONE not in event.model_dump_json()
    assert getattr(event, field) == text.replace(PHONE, "139****5678")
    sealed = event.sealed  # type: ignore[attr-defined]
    assert sealed is not None and KeyRing.unseal(KEY, sealed) == {field: text}


def test_a_reply_is_sealed_and_its_clear_copy_redacted() -> None:
    t = _ticket(Status.ACCEPTED)
    text = f"已联系居民，回电{PHONE}确认"
    (event,) = tickets.reply(t, text=text, solved=True, at_source=True, version=3, seal=_seal(t))
    _clear_and_sealed(event, "reply", text)


def test_staffs_reasons_and_the_hotlines_notes_are_sealed_and_redacted() -> None:
    routed, replied = _ticket(Status.ROUTED), _ticket(Status.REPLIED)
    reason = f"非本辖区，居民{PHONE}已另行反映"
    (returned,) = tickets.give_back(routed, reason, by="staff", seal=_seal(routed))
    _clear_and_sealed(returned, "reason", reason)
    (asked,) = tickets.request_extension(
        routed, until=NOW + timedelta(days=20), reason=reason, now=NOW, seal=_seal(routed)
    )
    _clear_and_sealed(asked, "reason", reason)
    waiting = replace(routed, extension_until=NOW + timedelta(days=20))
    (decided,) = tickets.decide_extension(
        waiting, approved=True, deadline=None, note=reason, seal=_seal(routed)
    )
    _clear_and_sealed(decided, "note", reason)
    followed, _ = tickets.follow_up(
        replied, satisfaction=Satisfaction.SATISFIED, resolved=True, note=reason,
        redo_deadline=NOW, seal=_seal(replied),
    )  # fmt: skip
    _clear_and_sealed(followed, "note", reason)


def test_routings_own_reason_and_an_erased_tickets_texts_are_kept_redacted_only() -> None:
    t = _ticket(Status.TRIAGE)
    (by_routing,) = tickets.give_back(t, "the address is in 兴隆街道", by="routing")
    assert isinstance(by_routing, tickets.TicketReturned) and by_routing.sealed is None
    accepted = _ticket(Status.ACCEPTED)
    (event,) = tickets.reply(
        accepted, text=f"回电{PHONE}", solved=True, at_source=True, version=3, seal=None
    )
    assert isinstance(event, tickets.TicketReplied)
    assert (event.reply, event.sealed) == ("回电139****5678", None)


def test_a_reply_longer_once_redacted_is_cut_to_what_the_hotline_takes() -> None:
    t = _ticket(Status.ACCEPTED)
    text = "ab@example.com " * 266 + "x" * 10  # 4,000 characters; each mask is longer
    (event,) = tickets.reply(t, text=text, solved=True, at_source=True, version=3, seal=_seal(t))
    assert isinstance(event, tickets.TicketReplied)
    assert len(event.reply) == tickets.REPLY_LENGTH
    assert event.sealed is not None


def test_a_caller_is_erased_once() -> None:
    t = _ticket(Status.CLOSED)
    (event,) = tickets.erase_caller(t, ErasureGround.CONSENT_WITHDRAWN)
    assert isinstance(event, tickets.CallerErased)
    assert event.legal_ground == ErasureGround.CONSENT_WITHDRAWN
    erased = tickets.evolve(t, event, 9)
    assert erased.erased and erased.status == Status.CLOSED
    assert tickets.erase_caller(erased, ErasureGround.CONSENT_WITHDRAWN) == []


def test_a_failed_deliverys_error_is_redacted() -> None:
    t = _ticket(Status.REPLIED, delivery_id=uuid.uuid4())
    (event,) = tickets.delivery_failed(
        t, attempt=1, error=f"HTTP 422: bad reply '回电{PHONE}'", next_attempt_at=NOW
    )
    assert isinstance(event, tickets.ReplyDeliveryFailed)
    assert PHONE not in event.error
