"""Read models that fold a batch in memory (the tickets that start in it, the grid map's moves)
leave the rows applying their events one by one leaves, a ticket handled again (重办) included."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from wangge.events import DomainEvent
from wangge.events.command import unit_of_work
from wangge.events.projection import Projection, ProjectionRunner
from wangge.events.sources import StoreSource
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue
from wangge.hotline_bridge.domain.routing import Match, RoutingMethod
from wangge.hotline_bridge.projections.grid_map import GridMap
from wangge.hotline_bridge.projections.tickets import Tickets

from pair_support import Pair
from registry_support import register_person


class OneByOne(Tickets):
    name = "hotline_tickets_one_by_one"
    apply_many = Projection.apply_many

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return super().define_tables(metadata, f"_one{suffix}")


def _life(n: int, catalogue: DispatchCatalogue, grid: uuid.UUID) -> tuple[str, list[DomainEvent]]:
    """A ticket's whole life: received, routed, accepted, replied, delivered, followed up; every
    third unsatisfied, so handled again and replied again."""
    received = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=n)
    intake = tickets.Intake(
        ticket_number=f"R{n:06d}", channel=tickets.Channel.PHONE, received_at=received,
        category_code="0301", content="噪声扰民", address=f"滨江社区{n}栋",
        urgency=tickets.Urgency.NORMAL, fingerprint=str(n),
    )  # fmt: skip
    events = tickets.receive(
        intake, catalogue=catalogue, now=received,
        seal=lambda block: None,  # type: ignore[arg-type,return-value]
        digest=lambda fingerprint: fingerprint,
    )  # fmt: skip
    state = tickets.evolve(None, events[0], 1)
    unhappy = n % 3 == 0
    satisfaction = tickets.Satisfaction.UNSATISFIED if unhappy else tickets.Satisfaction.SATISFIED
    match = Match(RoutingMethod.DWELLING, grid, grid, "dwelling")
    steps: list[Callable[[tickets.Ticket, int], list[DomainEvent]]] = [
        lambda t, v: tickets.route(t, match),
        lambda t, v: tickets.accept(t),
        lambda t, v: tickets.reply(t, text="已处理", solved=True, at_source=True, version=v),
        lambda t, v: tickets.delivered(t, attempt=1),
        lambda t, v: tickets.follow_up(
            t, satisfaction=satisfaction, resolved=not unhappy, note=None,
            redo_deadline=t.deadline,
        ),
    ]  # fmt: skip
    if unhappy:
        steps.append(
            lambda t, v: tickets.reply(t, text="再次处理", solved=True, at_source=True, version=v)
        )
    version = 1
    for decide in steps:
        for event in decide(state, version):
            version += 1
            state = tickets.evolve(state, event, version)
            events.append(event)
    return tickets.stream_id(tickets.ticket_id(intake.ticket_number)), events


async def _rows(engine: Any, runner: ProjectionRunner) -> list[dict[str, Any]]:
    table = runner.projection.tables(runner.generation)["tickets"]
    async with engine.connect() as conn:
        rows = await conn.execute(sa.select(table).order_by(table.c.ticket_id))
    return [dict(r._mapping) for r in rows]


async def test_folded_tickets_are_the_rows_one_by_one_leaves(pair: Pair) -> None:
    state = pair.hotline.app.state.service
    catalogue = DispatchCatalogue.load(
        Path(HotlineSettings.model_fields["dispatch_catalogue"].default)
    )
    lives = [_life(n, catalogue, uuid.UUID(pair.tree.grid)) for n in range(12)]
    assert any(isinstance(e, tickets.TicketReopened) for _, events in lives for e in events)
    async with unit_of_work(state.store, projections=list(state.projections.values())) as unit:
        for stream, events in lives:
            await unit.append(stream, events, expected_version=0)
    snapshots = []
    for projection in (Tickets(), OneByOne()):
        runner = ProjectionRunner(
            projection, engine=state.engine, source=StoreSource(state.store, idle_seconds=0),
            batch_size=25,
        )  # fmt: skip
        await runner.rebuild()
        snapshots.append(await _rows(state.engine, runner))
    folded, one_by_one = snapshots
    assert len(folded) == 12 and sum(r["reopened"] for r in folded) == 4
    assert folded == one_by_one


class GridMapOneByOne(GridMap):
    name = "hotline_grid_map_one_by_one"
    apply_many = Projection.apply_many

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return super().define_tables(metadata, f"_one{suffix}")


async def test_the_grid_map_folds_a_batch_of_moves_to_the_rows_one_by_one_leaves(
    pair: Pair,
) -> None:
    people = [await register_person(pair.registry, pair.tree) for _ in range(4)]
    moved = await pair.registry.client.post(
        f"/persons/{people[1]['person_id']}/move-out",
        json={"on": "2026-11-01", "whereabouts": "上海"}, headers=pair.tree.admin,
    )  # fmt: skip
    assert moved.status_code == 200, moved.text
    state = pair.hotline.app.state.service
    registry_store = pair.registry.app.state.service.store
    tables = []
    for projection in (GridMap(), GridMapOneByOne()):
        runner = ProjectionRunner(
            projection, engine=state.engine,
            source=StoreSource(registry_store, idle_seconds=0, key="store:registry"),
        )  # fmt: skip
        await runner.rebuild()
        found = {}
        async with state.engine.connect() as conn:
            for name, table in projection.tables(runner.generation).items():
                keys = list(table.primary_key.columns)
                rows = await conn.execute(sa.select(table).order_by(*keys))
                found[name] = [dict(r._mapping) for r in rows]
        tables.append(found)
    folded, one_by_one = tables
    # four stays, the one left ended on its day
    assert len(folded["residents"]) == 4
    assert [str(r["until"]) for r in folded["residents"] if r["until"]] == ["2026-11-01"]
    assert folded == one_by_one
