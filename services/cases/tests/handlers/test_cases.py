"""Commands on cases below HTTP: the read model moves with the command, a retry changes nothing,
a stale version is refused, and a routed ticket opens its case."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wangge.cases.bootstrap import CasesCore
from wangge.cases.consumed import hotline
from wangge.cases.domain import cases
from wangge.cases.handlers import cases as handle
from wangge.cases.handlers.cases import CaseCreate, Note
from wangge.cases.projections import cases as model
from wangge.cases.projections.cases import Cases
from wangge.events import Catalogue, IntegrationEvent, Metadata
from wangge.events.command import CommandRunner
from wangge.events.db import read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.events.store import open_store

Commands = Callable[..., CommandRunner]
WORKER = (uuid.uuid4(), "worker-1")


def _dispute(grid_id: uuid.UUID | None = None) -> CaseCreate:
    return CaseCreate(
        kind=cases.CaseKind.DISPUTE, source=cases.Source.WALK_IN, title="邻里噪声纠纷",
        description="楼上装修", grid_id=grid_id or uuid.uuid4(),
    )  # fmt: skip


async def _row(core: CasesCore, case_id: uuid.UUID) -> Any:
    async with read_only(core.store.engine) as conn:
        return await model.case(conn, await core.tables(conn, Cases.name), case_id)


async def test_an_opened_case_is_in_the_cases_kindonce_the_command_returns(
    core: CasesCore, commands: Commands
) -> None:
    case_id = await handle.open_case(commands("admin"), core, _dispute(), worker=WORKER)
    row = await _row(core, case_id)
    # no runner has caught up: the inline read model was written in the command's transaction
    assert row is not None
    assert (row.status, row.account, row.version) == ("assigned", "worker-1", 2)
    assert row.title == "邻里噪声纠纷"
    await handle.accept(commands(), core, case_id)
    await handle.step(commands(), core, case_id, Note(note="已上门"))
    row = await _row(core, case_id)
    assert (row.status, row.version) == ("in_progress", 4)


async def test_a_retried_command_answers_with_its_first_result_and_appends_nothing(
    core: CasesCore, commands: Commands
) -> None:
    body = _dispute()
    first = await handle.open_case(commands("admin", key="k-open"), core, body, worker=WORKER)
    again = await handle.open_case(commands("admin", key="k-open"), core, body, worker=WORKER)
    assert again == first
    await handle.accept(commands(), core, first)
    note = Note(note="第一次上门")
    await handle.step(commands(key="k-note"), core, first, note)
    await handle.step(commands(key="k-note"), core, first, note)
    recorded = await core.store.read_stream(cases.stream_id(first))
    assert [type(e.data).__name__ for e in recorded] == [
        "CaseOpened", "CaseAssigned", "CaseAccepted", "CaseProgressNoted",
    ]  # fmt: skip
    async with read_only(core.store.engine) as conn:
        mine = await model.inbox(
            conn, await core.tables(conn, Cases.name), "worker-1", now=datetime.now(UTC)
        )
    assert [r.case_id for r in mine] == [first]


async def test_a_command_sent_against_a_stale_version_is_refused(
    core: CasesCore, commands: Commands
) -> None:
    case_id = await handle.open_case(commands("admin"), core, _dispute(), worker=WORKER)
    await handle.accept(commands(expected=2), core, case_id)
    with pytest.raises(ConcurrencyConflict):
        await handle.step(commands(expected=2), core, case_id, Note(note="迟到的记录"))
    row = await _row(core, case_id)
    assert (row.status, row.version) == ("accepted", 3)


async def test_a_ticket_routed_to_a_grid_opens_its_complaint_case(core: CasesCore) -> None:
    # the hotline bridge's store as this service reads it: its events in their consumed copies
    catalogue = Catalogue()
    for kind in (hotline.TicketReceived, hotline.TicketRoutedToGrid):
        catalogue.register(kind, service="hotline_bridge")
    bridge = open_store(core.store.engine, service="hotline_bridge", catalogue=catalogue)
    await bridge.create_schema()
    ticket_id, grid_id = uuid.uuid4(), uuid.uuid4()
    deadline = datetime.now(UTC) + timedelta(days=3)
    events: list[IntegrationEvent] = [
        hotline.TicketReceived(
            ticket_id=ticket_id, ticket_number="12345-0001", category_name="噪声扰民",
            kind="complaint", content="楼上深夜装修", address="滨江社区12栋", deadline=deadline,
        ),
        hotline.TicketRoutedToGrid(ticket_id=ticket_id, grid_id=grid_id),
    ]  # fmt: skip
    await bridge.append(
        f"ticket-{ticket_id}", events, expected_version=0, metadata=Metadata(actor="hotline")
    )
    assert await core.catch_up(upstream={"hotline_bridge": bridge}) > 0
    case_id = cases.case_for(f"ticket:{ticket_id}")
    row = await _row(core, case_id)
    assert row is not None
    assert (row.kind, row.source, row.ticket_id, row.grid_id) == (
        "complaint", "hotline", ticket_id, grid_id,
    )  # fmt: skip
    # nobody holds the grid yet: the community's triage shows it
    assert (row.status, row.account) == ("opened", None)
    assert row.title.startswith("12345-0001 ")
    # caught up again, nothing reacts twice
    await core.catch_up(upstream={"hotline_bridge": bridge})
    assert len(await core.store.read_stream(cases.stream_id(case_id))) == 1
