"""The cases service's reactions on each backend (PostgreSQL takes the grid locks that keep a
ticket's opening and a take-over apart): a ticket routed to a grid opens a case for the grid's
worker, and when the registry gives the grid to another worker, its open case follows.

Over Kafka, with the three services running, the same flow is the top-level
``tests/e2e/cases/test_whole_flow.py`` on its ``kafka`` deployment (and the order of a ticket
and an appointment, ``tests/e2e/test_case_assignment_order.py``)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from wangge.cases.bootstrap import CasesCore, bootstrap
from wangge.cases.config import CasesSettings
from wangge.cases.consumed import hotline, registry
from wangge.cases.domain import cases
from wangge.cases.personal_data import metadata as key_tables
from wangge.cases.personal_data import party_keys
from wangge.cases.projections import cases as model
from wangge.cases.projections.cases import Cases
from wangge.events import Catalogue, IntegrationEvent, Metadata
from wangge.events.db import read_only
from wangge.events.projection import ProjectionRunner
from wangge.events.sources import StoreSource
from wangge.events.store import EventStore, open_store
from wangge.service.standalone import standalone
from wangge.service.testing import backend_settings, own_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def core(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[CasesCore]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    settings = backend_settings(CasesSettings, request.param, tmp_path, url, "cases_it")
    async with (
        own_schema(settings),
        standalone(settings, functools.partial(bootstrap, settings), create_schema=True) as made,
    ):
        async with made.store.engine.begin() as conn:
            await conn.run_sync(key_tables.create_all)
            await conn.run_sync(party_keys.create)
        yield made


async def _upstream(
    core: CasesCore, service: str, kinds: Sequence[type[IntegrationEvent]]
) -> EventStore:
    """Another service's store on the same database, read through this service's copies."""
    catalogue = Catalogue()
    for kind in kinds:
        catalogue.register(kind, service=service)
    store = open_store(core.store.engine, service=service, catalogue=catalogue)
    await store.create_schema()
    return store


async def _appoint(store: EventStore, account: str, grid_id: uuid.UUID, on: date) -> None:
    worker_id = uuid.uuid4()
    appointed = registry.GridWorkerAppointed(
        worker_id=worker_id, account=account, name="网格员", grid_ids=[grid_id], on=on
    )
    await store.append(
        f"worker-{worker_id}", [appointed], expected_version=0, metadata=Metadata(actor="admin")
    )


async def test_a_routed_ticket_opens_a_case_for_the_grid_worker_and_follows_the_grid(
    core: CasesCore,
) -> None:
    reg = await _upstream(core, "registry", [registry.GridWorkerAppointed])
    bridge = await _upstream(
        core, "hotline_bridge", [hotline.TicketReceived, hotline.TicketRoutedToGrid]
    )
    upstream = {"registry": reg, "hotline_bridge": bridge}
    grid_id, ticket_id = uuid.uuid4(), uuid.uuid4()
    await _appoint(reg, "worker-zhang", grid_id, date(2026, 1, 5))
    await core.catch_up(upstream=upstream)
    routed: list[IntegrationEvent] = [
        hotline.TicketReceived(
            ticket_id=ticket_id, ticket_number="12345-0002", category_name="垃圾清运",
            kind="complaint", content="垃圾三天未清运", address="滨江社区3栋",
            deadline=datetime.now(UTC) + timedelta(days=2),
        ),
        hotline.TicketRoutedToGrid(ticket_id=ticket_id, grid_id=grid_id),
    ]  # fmt: skip
    await bridge.append(
        f"ticket-{ticket_id}", routed, expected_version=0, metadata=Metadata(actor="hotline")
    )
    await core.catch_up(upstream=upstream)
    case_id = cases.case_for(f"ticket:{ticket_id}")

    async def row() -> tuple[str, str | None]:
        async with read_only(core.store.engine) as conn:
            found = await model.case(conn, await core.tables(conn, Cases.name), case_id)
        assert found is not None
        return found.status, found.account

    assert await row() == ("assigned", "worker-zhang")

    await _appoint(reg, "worker-li", grid_id, date(2026, 3, 1))
    await core.catch_up(upstream=upstream)
    assert await row() == ("assigned", "worker-li")
    recorded = await core.store.read_stream(cases.stream_id(case_id))
    assert [e.data.reason for e in recorded if isinstance(e.data, cases.CaseAssigned)] == [
        "the grid's worker", "the grid changed hands",
    ]  # fmt: skip


async def test_cases_a_batch_opens_are_appended_together_and_a_replay_opens_none_again(
    core: CasesCore,
) -> None:
    reg = await _upstream(core, "registry", [registry.GridWorkerAppointed])
    kinds: list[type[IntegrationEvent]] = [
        hotline.TicketReceived, hotline.TicketRoutedToGrid, hotline.TicketClosed,
    ]  # fmt: skip
    bridge = await _upstream(core, "hotline_bridge", kinds)
    upstream = {"registry": reg, "hotline_bridge": bridge}
    grid_id = uuid.uuid4()
    await _appoint(reg, "worker-wang", grid_id, date(2026, 1, 5))
    await core.catch_up(upstream=upstream)
    tickets = [uuid.uuid4() for _ in range(3)]
    for n, ticket_id in enumerate(tickets):
        words: list[IntegrationEvent] = [
            hotline.TicketReceived(
                ticket_id=ticket_id, ticket_number=f"12345-01{n}", category_name="噪音扰民",
                kind="complaint", content="夜间施工", address=f"滨江社区{n}栋",
                deadline=datetime.now(UTC) + timedelta(days=2),
            ),
            hotline.TicketRoutedToGrid(ticket_id=ticket_id, grid_id=grid_id),
        ]  # fmt: skip
        if n == 1:  # a second word on a case the same batch opens: it lands on the case
            words.append(hotline.TicketClosed(ticket_id=ticket_id))
        await bridge.append(
            f"ticket-{ticket_id}", words, expected_version=0, metadata=Metadata(actor="hotline")
        )
    # one batch holds every ticket's words
    assert await core.catch_up(upstream=upstream) == 7
    streams = [cases.stream_id(cases.case_for(f"ticket:{t}")) for t in tickets]

    async def histories() -> list[list[str]]:
        return [[type(e.data).__name__ for e in await core.store.read_stream(s)] for s in streams]

    opened = await histories()
    assert opened[0] == opened[2] == ["CaseOpened", "CaseAssigned"]
    assert opened[1][:2] == ["CaseOpened", "CaseAssigned"] and opened[1][-1] == "CaseClosed"
    async with read_only(core.store.engine) as conn:
        tables = await core.tables(conn, Cases.name)
        rows = [await model.case(conn, tables, cases.case_for(f"ticket:{t}")) for t in tickets]
    assert [r.status if r else None for r in rows] == ["assigned", "closed", "assigned"]
    # every case carries the ticket's matter, caused by the word that opened it
    first = (await core.store.read_stream(streams[0]))[0].envelope
    received = (await bridge.read_stream(f"ticket-{tickets[0]}"))[1].envelope
    assert first.causationid == str(received.id)
    # each opening is recorded under its cause's key, as a single reaction's append is
    for ticket_id, stream in zip(tickets, streams, strict=True):
        routing = (await bridge.read_stream(f"ticket-{ticket_id}"))[1].envelope
        key = f"reaction:{uuid.uuid5(routing.id, stream)}"
        found = await core.store.replayed(key, key)
        assert found is not None and (found.stream_id, found.first_version) == (stream, 1)
    # the reaction read again from the start finds each case it opened: nothing is appended
    [projection] = [p for p in core.projections if p.name == "cases_from_hotline"]
    runner = ProjectionRunner(
        projection, engine=core.store.engine,
        source=StoreSource(bridge, key="store:hotline_bridge", idle_seconds=0),
    )  # fmt: skip
    await runner.rebuild()
    assert await histories() == opened
