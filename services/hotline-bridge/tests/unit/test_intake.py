"""Signed pushes, the standard wire format, and what a ticket's intake decides."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError

from wangge.events.sealing import KeyRing, key_table
from wangge.governance.personal import InvalidPersonalData
from wangge.governance.redaction import redact
from wangge.hotline_bridge.adapters.standard import ADAPTER
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue
from wangge.hotline_bridge.domain.tickets import (
    InvalidTicket,
    TicketNumberReused,
    TicketReceived,
    evolve,
    keyed_fingerprint,
    receive,
    same_push,
    ticket_id,
)
from wangge.hotline_bridge.signing import BadSignature, sign, verify

from hotline_support import ticket

SECRET = b"s3cret"
NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
CATALOGUE = DispatchCatalogue.load()


def _body(**fields: Any) -> bytes:
    return json.dumps(ticket(**fields), ensure_ascii=False).encode()


KEY = KeyRing.generate()


def _seal() -> Any:
    return KeyRing.sealer(KEY, uuid.uuid4())


def _digest(fingerprint: str) -> str:
    return keyed_fingerprint(KEY, fingerprint)


def test_a_signature_holds_only_for_its_body_secret_and_time() -> None:
    body = _body()
    good = sign(SECRET, 1_000_000, body)
    verify(SECRET, timestamp="1000000", signature=good, body=body, now=1_000_100, tolerance=300)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"signature": good.replace("a", "b", 1)}, "X-Hotline-Signature"),
        ({"body": body + b" "}, "X-Hotline-Signature"),
        ({"now": 1_000_301}, "X-Hotline-Timestamp"),  # a replay, too late
        ({"timestamp": "yesterday"}, "X-Hotline-Timestamp"),
        ({"signature": None}, "X-Hotline-Signature"),
    ]
    for change, header in cases:
        args: dict[str, Any] = {"timestamp": "1000000", "signature": good, "body": body,
                                "now": 1_000_100, **change}  # fmt: skip
        with pytest.raises(BadSignature) as refused:
            verify(SECRET, tolerance=300, **args)
        assert refused.value.field == f"header/{header}"
    with pytest.raises(BadSignature):
        verify(os.urandom(8), timestamp="1000000", signature=good, body=body, now=1_000_000,
               tolerance=300)  # fmt: skip


def test_the_standard_format_names_the_wrong_field_as_the_hotline_sent_it() -> None:
    with pytest.raises(RequestValidationError) as bad:
        ADAPTER.read(_body(caller={"name": "x" * 51}, received_at="not a time"))
    fields = {tuple(e["loc"]) for e in bad.value.errors()}
    assert fields == {("body", "caller", "name"), ("body", "received_at")}
    with pytest.raises(RequestValidationError):
        ADAPTER.read(b"{not json")


def test_the_fingerprint_is_the_push_not_its_bytes_and_ignores_unknown_fields() -> None:
    body = ticket()
    first = ADAPTER.read(json.dumps(body).encode())
    spaced = ADAPTER.read(json.dumps({**body, "platform_extra": 1}, indent=2).encode())
    assert first.fingerprint == spaced.fingerprint
    other = ADAPTER.read(json.dumps({**body, "content": "另一件事"}).encode())
    assert other.fingerprint != first.fingerprint


def test_an_intake_takes_its_deadline_from_the_catalogue_and_seals_the_caller() -> None:
    intake = ADAPTER.read(_body(ticket_number="GD1"))
    (event,) = receive(intake, catalogue=CATALOGUE, now=NOW, seal=_seal(), digest=_digest)
    assert isinstance(event, TicketReceived)
    assert event.ticket_id == ticket_id("GD1")
    assert event.deadline_source == "catalogue"
    assert event.deadline.isoformat() == "2026-12-16T23:59:59+08:00"  # 13 working days
    assert event.caller is not None
    assert "13812345678" not in event.model_dump_json()
    assert "王小明" not in event.model_dump_json()
    assert (event.caller_name_masked, event.caller_phone_masked) == ("王**", "138****5678")


def test_the_hotlines_own_deadline_wins() -> None:
    intake = ADAPTER.read(_body(deadline="2026-11-30T18:00:00+08:00"))
    (event,) = receive(intake, catalogue=CATALOGUE, now=NOW, seal=_seal(), digest=_digest)
    assert isinstance(event, TicketReceived)
    assert (event.deadline_source, event.deadline.isoformat()) == (
        "hotline", "2026-11-30T18:00:00+08:00"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category_code": "9999"}, "category_code"),
        ({"received_at": "2026-11-28T09:30:00+08:00"}, "received_at"),  # in the future
        ({"deadline": "2026-11-27T09:00:00+08:00"}, "deadline"),  # before receipt
        ({"caller": {"name": "王", "phone": "12345"}}, "caller.phone"),
    ],
)
def test_a_ticket_that_cannot_be_right_is_refused_naming_the_field(
    fields: dict[str, Any], field: str
) -> None:
    intake = ADAPTER.read(_body(**fields))
    with pytest.raises((InvalidTicket, InvalidPersonalData)) as refused:
        receive(intake, catalogue=CATALOGUE, now=NOW, seal=_seal(), digest=_digest)
    assert refused.value.field == field


def test_an_anonymous_call_still_seals_what_it_said() -> None:
    intake = ADAPTER.read(_body(caller=None, content="请回电13912345678"))
    (event,) = receive(intake, catalogue=CATALOGUE, now=NOW, seal=_seal(), digest=_digest)
    assert isinstance(event, TicketReceived)
    assert (event.caller_name_masked, event.caller_phone_masked) == (None, None)
    assert event.caller is not None
    assert KeyRing.unseal(KEY, event.caller) == {
        "name": None, "phone": None, "content": "请回电13912345678"
    }  # fmt: skip


def test_the_content_is_sealed_with_the_caller_and_only_its_redacted_copy_is_clear() -> None:
    content = "楼下餐馆噪声扰民，老板电话 139-1234-5678，车牌苏A12345，身份证320111199001011234"
    intake = ADAPTER.read(_body(content=content))
    (event,) = receive(intake, catalogue=CATALOGUE, now=NOW, seal=_seal(), digest=_digest)
    assert isinstance(event, TicketReceived)
    assert event.content == redact(content)
    assert event.content.startswith("楼下餐馆噪声扰民")  # what the matter is stays readable
    clear = event.model_dump_json()
    for secret in ("13912345678", "1234-5678", "苏A12345", "320111199001011234"):
        assert secret not in clear
    assert event.caller is not None
    opened = KeyRing.unseal(KEY, event.caller)
    assert opened == {"name": "王小明", "phone": "+8613812345678", "content": content}


def test_the_push_fingerprint_is_kept_keyed_with_the_tickets_key() -> None:
    intake = ADAPTER.read(_body())
    (event,) = receive(intake, catalogue=CATALOGUE, now=NOW, seal=_seal(), digest=_digest)
    assert isinstance(event, TicketReceived)
    assert event.push_fingerprint == keyed_fingerprint(KEY, intake.fingerprint)
    assert intake.fingerprint not in event.push_fingerprint


def test_a_number_pushed_again_must_carry_the_same_ticket() -> None:
    first = ADAPTER.read(_body(ticket_number="GD2"))
    (event,) = receive(first, catalogue=CATALOGUE, now=NOW, seal=_seal(), digest=_digest)
    state = evolve(None, event, 1)
    same_push(state, ADAPTER.read(_body(ticket_number="GD2")), KEY)
    with pytest.raises(TicketNumberReused) as reused:
        same_push(state, ADAPTER.read(_body(ticket_number="GD2", content="别的事")), KEY)
    assert reused.value.field == "ticket_number"
    with pytest.raises(TicketNumberReused):  # erased: nothing left to show it is the same
        same_push(state, first, None)


def test_a_ticket_taken_in_before_fingerprints_were_keyed_is_still_recognised() -> None:
    first = ADAPTER.read(_body(ticket_number="GD3"))
    (event,) = receive(first, catalogue=CATALOGUE, now=NOW, seal=_seal(), digest=lambda f: f)
    state = evolve(None, event, 1)  # as stored then: the bare digest
    same_push(state, ADAPTER.read(_body(ticket_number="GD3")), None)
    with pytest.raises(TicketNumberReused):
        same_push(state, ADAPTER.read(_body(ticket_number="GD3", content="别的事")), KEY)


def test_an_old_ticket_with_its_content_in_clear_stays_readable() -> None:
    # stored before the content was sealed: a caller block of name and phone, content in clear
    old = {
        "ticket_id": str(ticket_id("GD4")), "ticket_number": "GD4", "channel": "phone",
        "received_at": "2026-11-27T09:30:00+08:00", "category": "0301",
        "category_name": "噪声扰民", "kind": "complaint", "content": "电话13812345678",
        "address": "滨江社区1栋", "urgency": "normal", "deadline": "2026-12-16T23:59:59+08:00",
        "deadline_source": "catalogue", "push_fingerprint": "ab" * 32,
        "caller": _seal()({"name": "王小明", "phone": "+8613812345678"}).model_dump(),
    }  # fmt: skip
    event = TicketReceived.model_validate(old)
    assert event.content == "电话13812345678"
    assert evolve(None, event, 1).push_fingerprint == "ab" * 32


def test_the_key_table_names_its_subject() -> None:
    import sqlalchemy as sa

    table = key_table(sa.MetaData(), "caller_keys", "ticket_id")
    assert [c.name for c in table.primary_key.columns] == ["ticket_id"]


def test_only_complaints_add_up_to_a_notice_and_only_at_the_threshold() -> None:
    from wangge.hotline_bridge.domain.tickets import Neighbours, RepeatedComplaintsNoticed, link

    def received(code: str) -> TicketReceived:
        (event,) = receive(ADAPTER.read(_body(category_code=code)), catalogue=CATALOGUE,
                           now=NOW, seal=_seal(), digest=_digest)  # fmt: skip
        assert isinstance(event, TicketReceived)
        return event

    two = Neighbours(recent=(uuid.uuid4(), uuid.uuid4()))
    _, notice = link(received("0301"), two, threshold=3, window_days=30)
    assert isinstance(notice, RepeatedComplaintsNoticed) and len(notice.ticket_ids) == 3
    assert link(received("0201"), two, threshold=3, window_days=30)[1] is None  # an enquiry
    three = Neighbours(recent=(uuid.uuid4(), uuid.uuid4(), uuid.uuid4()))
    assert link(received("0301"), three, threshold=3, window_days=30)[1] is None
