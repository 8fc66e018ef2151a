"""Intake through the API: signed, idempotent by number, all or nothing, sealed at rest."""

from __future__ import annotations

import asyncio
import json
import time

import sqlalchemy as sa

from wangge.events import tuning
from wangge.hotline_bridge.domain.tickets import stream_id, ticket_id

from hotline_support import Hotline, push, ticket


async def test_a_signed_push_becomes_a_ticket_with_its_deadline(hotline: Hotline) -> None:
    body = ticket(ticket_number="GD20261127000123")
    taken = await push(hotline, body)
    assert taken.status_code == 201, taken.text
    view = taken.json()
    assert view["ticket_id"] == str(ticket_id("GD20261127000123"))
    assert view["status"] == "triage"  # no grid map here: routing is tested with the registry
    assert (view["category"], view["kind"]) == ("0301", "complaint")
    assert view["deadline"] == "2026-12-16T15:59:59Z"  # 13 working days, end of day in China
    assert (view["caller_name_masked"], view["caller_phone_masked"]) == ("王**", "138****5678")
    read = await hotline.client.get(
        f"/tickets/{view['ticket_id']}",
        headers=hotline.as_("subdistrict_admin", places=["320111001"]),
    )
    assert read.json() == view


async def test_the_same_push_again_returns_the_first_result(hotline: Hotline) -> None:
    body = ticket()
    first = await push(hotline, body)
    again = await push(hotline, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    events = await hotline.store.read_stream(stream_id(ticket_id(body["ticket_number"])))
    assert [type(e.data).__name__ for e in events] == ["TicketReceived", "TicketAwaitingTriage"]


async def test_two_identical_pushes_racing_record_one_ticket(hotline: Hotline) -> None:
    body = ticket()
    results = await asyncio.gather(*(push(hotline, body) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [200, 200, 200, 201]
    assert len({json.dumps(r.json(), sort_keys=True) for r in results}) == 1


async def test_pushes_arriving_together_share_a_transaction_and_answer_as_alone(
    hotline: Hotline,
) -> None:
    bodies = [ticket(address=f"沿江街道滨江社区{n}栋1单元101室") for n in range(1, 11)]
    repeat = ticket(address=bodies[0]["address"])  # the same issue at the same door: linked
    reused = {**bodies[1], "content": "另一件事"}  # a used number for another story: 409
    again = bodies[2]  # the same push twice: one ticket, the same answer
    sent = [*bodies, repeat, reused, again]
    results = await asyncio.gather(
        *(
            push(hotline, body, headers={"X-Correlation-Id": f"call-{n}"})
            for n, body in enumerate(sent)
        )
    )
    intakes = hotline.app.state.service.core.intakes
    if tuning.FAST_PATHS.group_commit:
        assert intakes.batches >= 1 and intakes.grouped >= 2  # some shared a transaction
    else:  # its slow twin (ADR 0002): each alone, the same answers
        assert intakes.grouped == 0
    codes = [r.status_code for r in results]
    assert codes[3:10] == [201] * 7
    assert sorted((codes[1], codes[11])) == [201, 409]
    assert sorted((codes[2], codes[12])) == [200, 201]
    assert results[2].json() == results[12].json()
    pair = sorted([results[0].json(), results[10].json()], key=lambda v: v["duplicate_of"] or "")
    assert pair[0]["duplicate_of"] is None and pair[1]["duplicate_of"] == pair[0]["ticket_id"]
    staff = hotline.as_("subdistrict_admin", places=["320111001"])
    for result in results:
        if result.status_code in (200, 201):
            view = result.json()
            read = await hotline.client.get(f"/tickets/{view['ticket_id']}", headers=staff)
            assert read.json() == view  # what the push answered is what was stored
    for n in range(3, 10):  # each push's events keep its own correlation, batch or not
        events = await hotline.store.read_stream(stream_id(ticket_id(sent[n]["ticket_number"])))
        assert {e.envelope.correlationid for e in events} == {f"call-{n}"}


async def test_another_ticket_under_a_used_number_is_a_409(hotline: Hotline) -> None:
    body = ticket()
    assert (await push(hotline, body)).status_code == 201
    clash = await push(hotline, {**body, "content": "另一件事"})
    assert clash.status_code == 409
    problem = clash.json()
    assert problem["type"] == "urn:wangge:problem:ticket-number-reused"
    assert problem["errors"][0]["field"] == "ticket_number"


async def test_an_unsigned_stale_or_forged_push_is_refused(hotline: Hotline) -> None:
    body = ticket()
    forged = await push(hotline, body, secret=b"not the hotline's")
    stale = await push(hotline, body, at=int(time.time()) - 3600)
    early = await push(hotline, body, at=int(time.time()) + 3600)
    for refused, header in (
        (forged, "X-Hotline-Signature"), (stale, "X-Hotline-Timestamp"),
        (early, "X-Hotline-Timestamp"),
    ):  # fmt: skip
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["field"] == f"header/{header}"
    assert " s ago, more than" in stale.json()["errors"][0]["message"]
    assert " s in the future, more than" in early.json()["errors"][0]["message"]
    unsigned = await hotline.client.post(
        "/tickets", json=body, headers=hotline.as_("hotline_system")
    )
    assert unsigned.status_code == 401
    assert await hotline.store.stream_version(stream_id(ticket_id(body["ticket_number"]))) == 0


async def test_only_the_hotline_pushes(hotline: Hotline) -> None:
    response = await push(
        hotline, ticket(), headers=hotline.as_("subdistrict_admin", places=["320111001"])
    )
    assert response.status_code == 403


async def test_a_bad_ticket_is_a_422_naming_the_field_and_stores_nothing(
    hotline: Hotline,
) -> None:
    cases = [
        (ticket(category_code="9999"), "category_code"),
        (ticket(caller={"name": "王小明", "phone": "12345"}), "caller.phone"),
        (ticket(location={"longitude": 200, "latitude": 32}), "body/location/longitude"),
        ({**ticket(), "received_at": None}, "body/received_at"),
    ]
    for body, field in cases:
        response = await push(hotline, body)
        assert response.status_code == 422, response.text
        assert field in [e["field"] for e in response.json()["errors"]], response.text
        stream = stream_id(ticket_id(body["ticket_number"]))
        assert await hotline.store.stream_version(stream) == 0
    async with hotline.store.engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT count(*) FROM caller_keys")) == 0


async def test_the_caller_is_sealed_in_the_log(hotline: Hotline) -> None:
    body = ticket()
    assert (await push(hotline, body)).status_code == 201
    async with hotline.store.engine.connect() as conn:
        stored = [
            d if isinstance(d, dict) else json.loads(d)
            for d in await conn.scalars(sa.text("SELECT data FROM events"))
        ]
    text = json.dumps(stored, ensure_ascii=False)  # as stored, escapes undone
    assert body["address"] in text  # the ticket itself is in the clear
    assert "13812345678" not in text
    assert "王小明" not in text


async def test_the_catalogue_is_published_to_staff(hotline: Hotline) -> None:
    response = await hotline.client.get("/catalogue", headers=hotline.as_("grid_worker"))
    assert response.status_code == 200
    codes = {c["code"]: c for c in response.json()["categories"]}
    assert codes["0201"]["time_limit"] == {"unit": "working_days", "amount": 3}


async def test_the_bridge_is_ready_without_a_callback_url(hotline: Hotline) -> None:
    await asyncio.sleep(0.1)  # the background workers have started (and not stopped)
    ready = await hotline.client.get("/readyz")
    assert ready.status_code == 200, ready.text
