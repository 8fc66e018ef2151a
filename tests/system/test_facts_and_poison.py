"""What the flow does with a fact a local rule would refuse, and with an event it cannot apply.

- An emergency ticket (two hours to answer) received three hours before it is pushed, as
  after an outage of the hotline's link, is taken in and routed, and becomes a case that is
  overdue from the start, first in the grid worker's inbox: the cases service records another
  service's fact rather than refusing it. The views take it as it is too: none of their
  projections parks it, the matter holds the ticket and its case, and the grid's dashboard counts
  the case as overdue.
- A poison event (here: a row left in the cases service's read model, as a bug or a bad manual
  edit would leave it, on which the handler fails) parks its stream while every other ticket
  keeps becoming a case; the operator lists it, repairs the cause, and a retry applies the
  stream's events in order, once.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from system_flow import WORKER, eventually, settle_before_the_load, settled, tickets_without_case

from wangge.hotline_bridge.domain.tickets import stream_id, ticket_id

from system_clients import CHINA, Hotline, Registry, Tree, ticket
from system_support import BIN, Process, System

pytestmark = pytest.mark.system

REACTION = "cases_from_hotline"
"""The cases service's projection that opens a case for each routed ticket."""


async def _flowing(
    system: System, *also: str
) -> tuple[Process, Process, Tree, Hotline, list[Process]]:
    """The flow settled, with the processes of the services ``also`` named beside it."""
    registry, hotline, cases, *others = await asyncio.gather(
        system.start_service("registry"),
        system.start_service("hotline_bridge"),
        system.start_service("cases"),
        *(system.start_service(service) for service in also),
    )
    commands = Registry(system, registry)
    tree = await commands.register_tree()
    await commands.appoint_worker(WORKER, [tree.grid])
    line = Hotline(system, hotline)
    await settle_before_the_load(system, line, cases, tree, commands.subdistrict)
    return hotline, cases, tree, line, others


async def test_an_emergency_ticket_pushed_after_its_deadline_becomes_an_overdue_case(
    system: System,
) -> None:
    _, cases, tree, line, [views] = await _flowing(system, "views")
    received = datetime.now(CHINA).replace(microsecond=0) - timedelta(hours=3)
    late = ticket(
        category_code="0101",  # 燃气泄漏、供水爆管等紧急险情: two hours
        received_at=received.isoformat(),
        address="沿江街道滨江社区12号楼东侧商铺9001号",
        content="楼道里有燃气味",
    )
    answer = await line.push(late)
    assert answer.status_code == 201, answer.text
    assert answer.json()["grid_id"] == tree.grid
    number = late["ticket_number"]
    worker = system.headers("grid_worker", places=[tree.grid_code], subject=WORKER)

    async def first_in_inbox() -> dict[str, object] | None:
        shown = (await system.http.get(f"{cases.url}/inbox", headers=worker)).json()["cases"]
        return shown[0] if shown and shown[0]["ticket_id"] == str(ticket_id(number)) else None

    assert await eventually(first_in_inbox, seconds=60), "the late ticket's case never came"
    case = await first_in_inbox()
    assert case is not None
    deadline = datetime.fromisoformat(str(case["deadline"]))
    assert deadline == received.astimezone(UTC) + timedelta(hours=2)
    assert deadline < datetime.now(UTC)  # overdue from the start
    ready = (await system.http.get(f"{cases.url}/readyz")).json()
    assert ready["ready"] is True
    assert ready["checks"]["workers"]["detail"]["status"] == "running"
    late_ticket = str(ticket_id(number))
    await _the_views_take_it_as_it_is(system, views, tree, str(case["case_id"]), late_ticket)


async def _the_views_take_it_as_it_is(
    system: System, views: Process, tree: Tree, case_id: str, late_ticket: str
) -> None:
    """A fact is a fact for the views too: the late ticket's matter holds its case, the grid's
    dashboard counts the case overdue, and nothing was parked."""
    admin = system.headers("subdistrict_admin", places=[tree.grid_code[:9]], subject="centre")

    async def in_the_matter() -> bool:
        answer = await system.http.get(
            f"{views.url}/matters", params={"case_id": case_id}, headers=admin
        )
        return answer.status_code == 200 and answer.json()["ticket_ids"] == [late_ticket]

    assert await eventually(in_the_matter, seconds=60), "the late ticket's matter never came"

    async def overdue() -> bool:
        answer = await system.http.get(
            f"{views.url}/grids/{tree.grid_code}/dashboard", headers=admin
        )
        return answer.status_code == 200 and answer.json()["current"]["cases"]["overdue"] >= 1

    assert await eventually(overdue, seconds=60), "the dashboard never counted the case overdue"
    assert await system.sql("views", "SELECT * FROM projection_parked") == []
    ready = (await system.http.get(f"{views.url}/readyz")).json()
    assert ready["ready"] is True
    assert ready["checks"]["workers"]["detail"]["status"] == "running"


async def test_a_poison_event_parks_one_stream_and_a_retry_after_the_repair_applies_it_once(
    system: System,
) -> None:
    _, cases, tree, line, _ = await _flowing(system)
    poisoned = ticket(address="沿江街道滨江社区12号楼东侧商铺7001号")
    stuck = ticket_id(poisoned["ticket_number"])
    generation = (
        await system.sql(
            "cases",
            "SELECT generation FROM projection_generations WHERE projection = $1",
            REACTION,
        )
    )[0]["generation"]
    briefs = f"cases_ticket_briefs_g{generation}"
    # the row the handler will trip over: the ticket's brief, there before the ticket
    await system.sql(
        "cases",
        f"INSERT INTO {briefs} (ticket_id, ticket_number, title, content, address, deadline) "
        "VALUES ($1, 'left over', 'left over', 'left over', 'left over', now())",
        stuck,
    )
    assert (await line.push(poisoned)).status_code == 201
    others = set()
    for n in range(8):
        pushed = await line.push(ticket(address=f"沿江街道滨江社区12号楼东侧商铺{7100 + n}号"))
        assert pushed.status_code == 201, pushed.text
        others.add(pushed.json()["ticket_id"])

    # every other ticket became a case; the poisoned one waits, and says why
    assert await settled(lambda: tickets_without_case(system, others)) == set()
    assert await tickets_without_case(system, {str(stuck)}) == {str(stuck)}
    operator = system.headers("operator", subject="ops")
    listed = (await system.http.get(f"{cases.url}/admin/parked", headers=operator)).json()
    assert [(i["stream_id"], i["sequence"]) for i in listed["items"]] == [
        (stream_id(stuck), 1),
        (stream_id(stuck), 2),
    ]
    assert listed["items"][0]["reason"].startswith("IntegrityError")
    assert listed["items"][1]["reason"] == "waits behind an earlier parked event"
    ready = (await system.http.get(f"{cases.url}/readyz")).json()
    assert ready["ready"] is True  # degraded, not dead
    assert ready["checks"]["workers"]["detail"]["parked"] == {REACTION: 2}

    # the operator's command line sees the same, from the service's database
    database = system.database_url("cases")
    code, out = await _events_cli("parked", "list", "--database-url", database)
    assert code == 0, out
    assert out.count(f'"stream_id": "{stream_id(stuck)}"') == 2, out

    # the cause repaired, a retry applies the stream in order, once
    await system.sql("cases", f"DELETE FROM {briefs} WHERE ticket_id = $1", stuck)
    code, out = await _events_cli(
        "parked", "retry", "--projection", REACTION, "--stream", stream_id(stuck),
        "--database-url", database, "--wait", "60",
    )  # fmt: skip
    assert code == 0, out
    assert await tickets_without_case(system, {str(stuck)}) == set()
    opened = [
        e
        for e in await system.events("cases")
        if e.type.endswith(".CaseOpened") and e.data.get("ticket_id") == str(stuck)
    ]
    assert len(opened) == 1
    assert opened[0].data["grid_id"] == tree.grid
    code, out = await _events_cli("parked", "list", "--database-url", database)
    assert "0 parked events" in out
    ready = (await system.http.get(f"{cases.url}/readyz")).json()
    assert ready["checks"]["workers"]["detail"]["status"] == "running"
    # and the stream flows on: the worker's inbox has the case
    worker = system.headers("grid_worker", places=[tree.grid_code], subject=WORKER)
    inbox = (await system.http.get(f"{cases.url}/inbox", headers=worker)).json()["cases"]
    assert str(stuck) in {c["ticket_id"] for c in inbox}


async def _events_cli(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "wangge-events"), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )  # fmt: skip
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()
