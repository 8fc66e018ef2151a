"""Free text sealed at rest, and callers erased by ticket or by phone (crypto-shredding)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa

from wangge.events.projection import ProjectionRunner, active_tables
from wangge.events.sources import StoreSource
from wangge.governance.redaction import redact
from wangge.hotline_bridge.domain.tickets import CallerErased, stream_id, ticket_id
from wangge.hotline_bridge.personal_data import caller_keys
from wangge.hotline_bridge.projections.callers import CallerPhones

from hotline_support import Hotline, push, ticket

NEIGHBOUR = "13912345678"
CONTENT = f"楼下餐馆噪声扰民，老板电话{NEIGHBOUR}，请尽快处理"
ERASURE = {"legal_ground": "consent_withdrawn"}


async def _raw_event_rows(hotline: Hotline, stream: str) -> str:
    """The stream's event rows as the database holds them, every column as text."""
    async with hotline.store.engine.connect() as conn:
        rows = await conn.execute(
            sa.text(
                "SELECT CAST(metadata AS TEXT), CAST(data AS TEXT) FROM events"
                " WHERE stream_id = :stream"
            ),
            {"stream": stream},
        )
        return "\n".join(f"{metadata}\n{data}" for metadata, data in rows)


async def _row(hotline: Hotline, ticket_id: str) -> dict[str, Any]:
    state = hotline.app.state.service
    async with state.engine.connect() as conn:
        t = (await active_tables(conn, state.projections["hotline_tickets"]))["tickets"]
        row = (
            await conn.execute(sa.select(t).where(t.c.ticket_id == uuid.UUID(ticket_id)))
        ).first()
    assert row is not None
    return dict(row._mapping)


async def _erase(hotline: Hotline, ticket_id: str, *, role: str = "subdistrict_admin") -> Any:
    return await hotline.client.request(
        "DELETE", f"/tickets/{ticket_id}/caller", json=ERASURE,
        headers=hotline.as_(role, places=["320111001"], subject="admin-7"),
    )  # fmt: skip


async def _erase_phone(hotline: Hotline, phone: str, headers: dict[str, str]) -> Any:
    return await hotline.client.post(
        "/callers/erasure", json={**ERASURE, "phone": phone}, headers=headers
    )


async def test_a_phone_typed_in_the_content_leaves_no_trace_in_the_event_rows(
    hotline: Hotline,
) -> None:
    body = ticket(content=CONTENT, caller={"name": "王小明", "phone": "13812345678"})
    taken = await push(hotline, body)
    assert taken.status_code == 201, taken.text
    raw = await _raw_event_rows(hotline, stream_id(ticket_id(body["ticket_number"])))
    assert raw
    for trace in (NEIGHBOUR, "+86" + NEIGHBOUR, "13812345678", "+8613812345678", "王小明"):
        assert trace not in raw, trace
    assert "139****5678" in raw  # the redacted copy, for routing and work lists
    view = taken.json()
    assert view["content"] == CONTENT  # staff see what the caller said, opened with the key
    assert view["caller_erased"] is False
    row = await _row(hotline, view["ticket_id"])
    assert row["content"] == redact(CONTENT)  # the read model holds no original text


async def test_erasing_a_tickets_caller_shreds_its_key_once(hotline: Hotline) -> None:
    body = ticket(content=CONTENT)
    view = (await push(hotline, body)).json()
    erased_ticket = view["ticket_id"]
    stream = stream_id(uuid.UUID(erased_ticket))
    erased = await _erase(hotline, erased_ticket)
    assert erased.status_code == 200, erased.text
    assert erased.json() == {"erased": 1, "ticket_ids": [erased_ticket]}
    events = await hotline.store.read_stream(stream)
    last = events[-1]
    assert isinstance(last.data, CallerErased)
    assert (last.data.legal_ground, last.envelope.actor) == ("consent_withdrawn", "admin-7")
    keys = hotline.app.state.service.core.keyring
    async with hotline.store.engine.connect() as conn:
        assert await keys.key(conn, uuid.UUID(erased_ticket)) is None  # no sealed block opens
        wrapped = await conn.scalar(
            sa.select(caller_keys.c.wrapped).where(
                caller_keys.c.ticket_id == uuid.UUID(erased_ticket)
            )
        )
    assert wrapped is None
    read = await hotline.client.get(
        f"/tickets/{erased_ticket}", headers=hotline.as_("subdistrict_admin", places=["320111001"])
    )
    shown = read.json()
    assert shown["content"] == redact(CONTENT) and shown["caller_erased"] is True
    assert (shown["caller_name_masked"], shown["caller_phone_masked"]) == (None, None)
    row = json.dumps(await _row(hotline, erased_ticket), default=str, ensure_ascii=False)
    assert NEIGHBOUR not in row and "王小明" not in row and "王**" not in row
    again = await _erase(hotline, erased_ticket, role="hotline_system")
    assert again.status_code == 200
    assert again.json() == {"erased": 0, "ticket_ids": [erased_ticket]}
    assert len(await hotline.store.read_stream(stream)) == len(events)  # no second event
    # the same push again can no longer be shown to be the first: refused, nothing recorded
    assert (await push(hotline, body)).status_code == 409
    assert len(await hotline.store.read_stream(stream)) == len(events)


async def test_erasing_an_unknown_ticket_is_a_404_and_a_missing_ground_a_422(
    hotline: Hotline,
) -> None:
    unknown = await _erase(hotline, str(uuid.uuid4()))
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    view = (await push(hotline, ticket())).json()
    bad = await hotline.client.request(
        "DELETE", f"/tickets/{view['ticket_id']}/caller", json={"legal_ground": "because"},
        headers=hotline.as_("subdistrict_admin", places=["320111001"]),
    )  # fmt: skip
    assert bad.status_code == 422
    assert "body/legal_ground" in [e["field"] for e in bad.json()["errors"]]
    worker = await hotline.client.request(
        "DELETE", f"/tickets/{view['ticket_id']}/caller", json=ERASURE,
        headers=hotline.as_("grid_worker", places=["320111001-001-001"]),
    )  # fmt: skip
    assert worker.status_code == 403


async def test_erasing_by_phone_erases_every_ticket_of_that_caller_and_no_other(
    hotline: Hotline,
) -> None:
    phone = f"137{uuid.uuid4().int % 10**8:08d}"
    mine = [
        (await push(hotline, ticket(caller={"name": "李四", "phone": written}))).json()
        for written in (phone, f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}")
    ]
    other = (await push(hotline, ticket(caller={"name": "张三", "phone": "13612345678"}))).json()
    admin = hotline.as_("subdistrict_admin", places=["320111001"])
    erased = await _erase_phone(hotline, f"{phone[:3]}-{phone[3:7]}-{phone[7:]}", admin)
    assert erased.status_code == 200, erased.text
    ids = sorted(view["ticket_id"] for view in mine)
    assert erased.json() == {"erased": 2, "ticket_ids": ids}
    for ticket_view in mine:
        read = await hotline.client.get(f"/tickets/{ticket_view['ticket_id']}", headers=admin)
        assert read.json()["caller_erased"] is True
    kept = await hotline.client.get(f"/tickets/{other['ticket_id']}", headers=admin)
    assert kept.json()["caller_erased"] is False
    assert kept.json()["caller_phone_masked"] == "136****5678"
    again = await _erase_phone(hotline, phone, admin)
    nobody = await _erase_phone(hotline, "13500000000", hotline.as_("hotline_system"))
    # the same answer for a erased_ticket erased before and one nobody called from
    assert again.status_code == nobody.status_code == 200
    assert again.json() == nobody.json() == {"erased": 0, "ticket_ids": []}
    for view in mine:
        events = await hotline.store.read_stream(stream_id(uuid.UUID(view["ticket_id"])))
        assert sum(isinstance(e.data, CallerErased) for e in events) == 1
    not_a_phone = await _erase_phone(hotline, "12345", admin)
    assert not_a_phone.status_code == 422
    assert "phone" in [e["field"] for e in not_a_phone.json()["errors"]]


async def test_the_phone_index_is_filled_from_the_log_on_its_first_build(
    hotline: Hotline,
) -> None:
    """Tickets taken in before the read model existed are found once it has been built."""
    phone = f"137{uuid.uuid4().int % 10**8:08d}"
    views = [
        (await push(hotline, ticket(caller={"name": "李四", "phone": phone}))).json()
        for _ in range(3)
    ]
    anonymous = (await push(hotline, ticket(caller=None))).json()
    erased = await _erase(hotline, views[2]["ticket_id"])
    assert erased.status_code == 200

    class FirstBuild(CallerPhones):
        name = "hotline_caller_phones_first_build"

    state = hotline.app.state.service
    projection = FirstBuild(state.core.keyring)
    runner = ProjectionRunner(
        projection, engine=state.engine, source=StoreSource(state.store, idle_seconds=0)
    )
    await runner.rebuild()
    table = projection.tables(runner.generation)["phones"]
    async with state.engine.connect() as conn:
        found = dict((await conn.execute(sa.select(table.c.ticket_id, table.c.phone_hash))).all())
    hashed = hotline.app.state.service.core.keyring.phone_hash("+86" + phone)
    assert {str(t) for t, h in found.items() if h == hashed} == {
        views[0]["ticket_id"],
        views[1]["ticket_id"],
    }  # the erased caller's ticket is not brought back
    assert uuid.UUID(anonymous["ticket_id"]) not in found
