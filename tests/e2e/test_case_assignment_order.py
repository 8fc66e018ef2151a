"""A case a routed ticket opens goes to its grid's worker whatever order the cases service's
consumers of the registry and of the hotline bridge apply their events in.

The registry and the hotline bridge run as usual (the ``pair``); the cases service runs with its
consumers of their events reading nothing, and the test drives runners of the same projections
by hand, over the two services' event tables, one batch at a time: the take-over of open cases
(``cases_from_registry``), the tickets (``cases_from_hotline``) and the roster (``cases_roster``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from wangge.cases.app import MIGRATIONS, build_app
from wangge.cases.config import CasesSettings
from wangge.cases.projections.roster import worker_of
from wangge.events.projection import ApplyContext, ProjectionRunner, active_tables
from wangge.events.sources import StoreSource
from wangge.events.store import EventStore
from wangge.service.app import ServiceState
from wangge.service.testing import Running, started

from pair_support import Pair, routed

WORKER = "worker-wang"
ADDRESS = "沿江街道滨江社区12栋2单元1201"  # the tree's dwelling: routed to the tree's grid


@dataclass
class ByHand:
    """The pair, the cases service, and runners of its consumers of the pair's events."""

    pair: Pair
    cases: Running[CasesSettings]
    from_registry: ProjectionRunner
    from_hotline: ProjectionRunner
    roster: ProjectionRunner

    @property
    def state(self) -> ServiceState:
        state: ServiceState = self.cases.app.state.service
        return state

    async def appoint(self) -> uuid.UUID:
        """A worker appointed to the tree's grid (which had none)."""
        pair = self.pair
        response = await pair.registry.client.post(
            "/workers",
            json={"account": WORKER, "name": "王芳", "grid_ids": [pair.tree.grid],
                  "on": "2026-01-01"},
            headers=pair.tree.admin,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        return uuid.UUID(response.json()["worker_id"])

    async def ticket(self) -> uuid.UUID:
        """A ticket pushed and routed to the tree's grid."""
        view = await routed(self.pair, ADDRESS)
        assert view["grid_id"] == self.pair.tree.grid
        return uuid.UUID(view["ticket_id"])

    async def case_of(self, ticket_id: uuid.UUID) -> Any:
        """The row of the case the ticket opened (None before it opened one)."""
        async with self.state.engine.connect() as conn:
            table = (await active_tables(conn, self.state.projections["cases_cases"]))["cases"]
            return (
                await conn.execute(sa.select(table).where(table.c.ticket_id == ticket_id))
            ).first()

    async def holds_grid(self) -> bool:
        """Whether the take-over recorded the appointment to the tree's grid."""
        async with self.state.engine.connect() as conn:
            holds = (await active_tables(conn, self.from_registry.projection))["holds"]
            held = await conn.scalar(
                sa.select(holds.c.worker_id).where(
                    holds.c.grid_id == uuid.UUID(self.pair.tree.grid)
                )
            )
        return held is not None

    async def roster_knows(self) -> bool:
        """Whether the roster has the tree's grid's worker."""
        async with self.state.engine.connect() as conn:
            tables = await active_tables(conn, self.roster.projection)
            return await worker_of(conn, tables, uuid.UUID(self.pair.tree.grid)) is not None

    async def inbox(self) -> list[dict[str, Any]]:
        me = self.cases.as_("grid_worker", places=[self.pair.tree.grid_code], subject=WORKER)
        response = await self.cases.client.get("/inbox", headers=me)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["cases"]
        return found


async def run_until(
    runner: ProjectionRunner, done: Callable[[], Awaitable[bool]], *, what: str
) -> None:
    """Apply the runner's batches until ``done`` (on PostgreSQL an event committed while another
    transaction of the cluster runs is read once that one ends: an empty batch proves nothing)."""
    for _ in range(400):
        await runner.run_once()
        if await done():
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"{what} did not happen")


def _runner(state: ServiceState, name: str, store: EventStore, service: str) -> ProjectionRunner:
    source = StoreSource(store, idle_seconds=0, key=f"store:{service}")
    return ProjectionRunner(state.projections[name], engine=state.engine, source=source)


@pytest.fixture
async def by_hand(
    pair: Pair, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[ByHand]:
    """The cases service beside the pair, on the pair's backend, reading none of their events
    itself: on SQLite from a data folder of its own (no other service's file in it), on
    PostgreSQL in a schema of its own without Kafka or the others' database URLs."""
    if pair.hotline.settings.kafka_bootstrap_servers is None:
        settings = CasesSettings(
            environment="test", data_dir=tmp_path / "cases", database_url=None,
            kafka_bootstrap_servers=None,
        )  # fmt: skip
    else:
        settings = CasesSettings(
            environment="test", data_dir=tmp_path / "cases",
            database_url=request.getfixturevalue("database_url"),
            database_schema=f"cas_{uuid.uuid4().hex[:10]}", kafka_bootstrap_servers=None,
        )  # fmt: skip
    async with started(settings, build_app, MIGRATIONS) as cases:
        state: ServiceState = cases.app.state.service
        registry, hotline = pair.registry.store, pair.hotline.store
        runners = [
            _runner(state, "cases_from_registry", registry, "registry"),
            _runner(state, "cases_from_hotline", hotline, "hotline_bridge"),
            _runner(state, "cases_roster", registry, "registry"),
        ]
        for runner in runners:
            await runner.start()
        try:
            yield ByHand(pair, cases, *runners)
        finally:
            for runner in runners:
                await runner.stop()


async def test_a_ticket_opened_after_the_take_over_but_before_the_roster_goes_to_the_worker(
    by_hand: ByHand,
) -> None:
    """The order that lost the assignment: the take-over applies the appointment (no open case
    in the grid yet), the ticket opens its case while the roster has not heard of the worker,
    then the roster catches up."""
    worker_id = await by_hand.appoint()
    ticket_id = await by_hand.ticket()
    await run_until(by_hand.from_registry, by_hand.holds_grid, what="the take-over's appointment")
    assert await by_hand.roster_knows() is False

    async def opened() -> bool:
        return await by_hand.case_of(ticket_id) is not None

    await run_until(by_hand.from_hotline, opened, what="the ticket's case")
    await run_until(by_hand.roster, by_hand.roster_knows, what="the roster's appointment")
    case = await by_hand.case_of(ticket_id)
    assert (case.account, case.worker_id, case.status) == (WORKER, worker_id, "assigned")
    assert [c["ticket_id"] for c in await by_hand.inbox()] == [str(ticket_id)]


async def test_a_ticket_routed_while_the_take_over_commits_waits_and_goes_to_the_worker(
    by_hand: ByHand,
) -> None:
    """The take-over has recorded the appointment and found no open case in the grid, but not
    committed yet: the ticket's case waits for the grid, then sees the appointment. (Reading the
    take-over's record without waiting, it would have seen no worker, and the take-over no
    case.)"""
    worker_id = await by_hand.appoint()
    ticket_id = await by_hand.ticket()
    from_registry = by_hand.from_registry
    projection = from_registry.projection
    fetched = await from_registry.source.fetch({}, 500)
    handled = [s.event for s in fetched if s.event.envelope.type in projection.handled_types]
    appointment = [projection.decode(event) for event in handled]
    assert [e.envelope.type for e in appointment] == ["wangge.registry.GridWorkerAppointed"]
    tables = projection.tables(from_registry.generation)

    async def opened() -> bool:
        return await by_hand.case_of(ticket_id) is not None

    async with by_hand.state.engine.begin() as conn:  # the take-over's transaction, held open
        await projection.apply_many(ApplyContext(conn=conn, tables=tables), appointment, set())
        opening = asyncio.create_task(
            run_until(by_hand.from_hotline, opened, what="the ticket's case")
        )
        await asyncio.sleep(0.5)
        assert not opening.done(), "the ticket's case did not wait for the grid"
    await asyncio.wait_for(opening, 30)
    case = await by_hand.case_of(ticket_id)
    assert (case.account, case.worker_id) == (WORKER, worker_id)
    assert await by_hand.roster_knows() is False  # the roster played no part
