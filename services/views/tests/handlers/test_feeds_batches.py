"""The department feeds fold each batch in memory (``projections.batching``): rebuilt in batches
of every size, and with folding switched off, they leave exactly the rows, positions included,
that applying the same events one by one in the same order leaves."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from wangge.events import Metadata, tuning
from wangge.events.projection import Projection, ProjectionRunner
from wangge.events.sources import MergedSource, Source, StoreSource
from wangge.views.bootstrap import ViewsCore
from wangge.views.consumed import cases, hotline, registry
from wangge.views.handlers.clock import close_day
from wangge.views.projections.feeds import Feeds

from scenario_support import Scenario, play
from views_support import Upstream

Rows = dict[str, list[tuple[Any, ...]]]


def _twin(core: ViewsCore, tag: str, *, one_by_one: bool = False) -> Projection:
    """The feeds under a name and tables of their own (the service's catalogue); ``one_by_one``:
    the base class's apply_many (each event applied with its own statements)."""
    feeds = core.projection(Feeds.name)
    assert isinstance(feeds, Feeds)

    def define_tables(self: Feeds, metadata: sa.MetaData, suffix: str) -> Any:
        return Feeds.define_tables(self, metadata, f"_{tag}{suffix}")

    members: dict[str, Any] = {"name": f"{Feeds.name}_{tag}", "define_tables": define_tables}
    if one_by_one:
        members["apply_many"] = Projection.apply_many
    twin: type[Feeds] = type(f"Feeds{tag.title()}", (Feeds,), members)
    return twin(feeds.departments)


async def _rebuilt(core: ViewsCore, upstream: Upstream, projection: Projection, size: int) -> Rows:
    """Every row of ``projection`` rebuilt from the first event of every log it reads (the
    views' own clock included) in batches of ``size``, each table's rows sorted."""
    sources: list[Source] = [
        StoreSource(upstream.stores[s], key=f"store:{s}", idle_seconds=0)
        if s != "views" else StoreSource(core.store, idle_seconds=0)
        for s in projection.reads
    ]  # fmt: skip
    runner = ProjectionRunner(
        projection, engine=core.store.engine, source=MergedSource(sources), batch_size=size
    )
    await runner.rebuild()
    out: Rows = {}
    async with core.store.engine.connect() as conn:
        for name, table in projection.tables(runner.generation).items():
            rows = (await conn.execute(sa.select(table))).all()
            out[name] = sorted((tuple(row) for row in rows), key=repr)
    return out


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)


async def _close(core: ViewsCore, first: date, days: int) -> None:
    commands = core.commands(Metadata(actor="system:clock"))
    for n in range(days):
        assert await close_day(commands, day=first + timedelta(days=n))


async def _plan(upstream: Upstream, s: Scenario, start: date, kind: str, person: str) -> uuid.UUID:
    plan = uuid.uuid4()
    await upstream.append(
        "cases", f"careplan-{plan}",
        cases.CarePlanStarted(plan_id=plan, resident=person, resident_masked="李*",
                              grid_id=s.tree.grid, kind=kind, every_days=7,
                              worker_account=s.tree.worker_account, starts_on=start),
    )  # fmt: skip
    return plan


async def _visit(upstream: Upstream, s: Scenario, plan: uuid.UUID, on: date) -> None:
    await upstream.append(
        "cases", f"careplan-{plan}",
        cases.CareVisitRecorded(plan_id=plan, visit_id=uuid.uuid4(), visited_on=on,
                                by=s.tree.worker_account),
    )  # fmt: skip


async def _month(upstream: Upstream, core: ViewsCore, start: date) -> None:
    """A played month, and beside it: care plans of the feeds' kinds visited, ended and erased
    between closed days; a floating resident's moves; a hazard point's life; a ticket of an
    urban-management category routed twice and replied; tags removed."""
    s = await play(upstream, start=start)
    wang, li, _zhao = s.residents
    reg = upstream.append
    checked = await _plan(upstream, s, start, "health_check", str(wang))
    companion = await _plan(upstream, s, start, "companionship", str(li))
    aid = await _plan(upstream, s, start, "aid", str(uuid.uuid4()))
    gone = str(uuid.uuid4())
    lonely = await _plan(upstream, s, start, "condolence", gone)
    await _close(core, start, 4)
    await _visit(upstream, s, checked, start + timedelta(days=3))
    await _visit(upstream, s, checked, start + timedelta(days=3))  # twice on a day
    await _close(core, start + timedelta(days=4), 6)
    await _visit(upstream, s, companion, start + timedelta(days=9))
    await _visit(upstream, s, checked, start + timedelta(days=2))  # written up late
    await reg(
        "cases", f"careplan-{companion}",
        cases.CarePlanEnded(plan_id=companion, ended_on=start + timedelta(days=16), reason="搬离"),
    )  # fmt: skip
    await reg(
        "cases", f"careplan-{aid}",
        cases.CarePlanDataErased(plan_id=aid, legal_ground="consent_withdrawn"),
    )  # fmt: skip
    await reg(
        "cases", f"resident-{gone}",
        cases.ResidentDataErased(person_id=uuid.UUID(gone), legal_ground="consent_withdrawn",
                                 care_plans=[lonely], cases=[]),
    )  # fmt: skip
    await _close(core, start + timedelta(days=10), 5)
    await reg(
        "registry", f"person-{li}",
        registry.PersonResidenceStatusChanged(person_id=li, residence_status="resident",
                                              on=start + timedelta(days=12)),
        registry.PersonResidenceStatusChanged(person_id=li, residence_status="floating",
                                              on=start + timedelta(days=13)),
        registry.PersonMovedOut(person_id=li, dwelling_id=s.tree.dwelling,
                                on=start + timedelta(days=14)),
        registry.PersonMovedIn(person_id=li, dwelling_id=s.tree.other_dwelling,
                               on=start + timedelta(days=15)),
    )  # fmt: skip
    await reg(
        "registry", f"person-{wang}",
        registry.PersonDetailsCorrected(
            person_id=wang, sex="female", birth_year=1942, name_masked="王*",
            identity_masked="320111********124X", phone_masked=None, hukou_type="local",
        ),
        registry.PersonUntagged(person_id=wang, tag="elderly_living_alone",
                                on=start + timedelta(days=15), reason="复核"),
    )  # fmt: skip
    hazard = uuid.uuid4()
    await reg(
        "registry", f"thing-{hazard}",
        registry.ThingRegistered(thing_id=hazard, kind="hazard_point", category="fire_safety",
                                 name="配电箱", place_id=s.tree.building, risk_level="high"),
        registry.ThingInspected(thing_id=hazard, on=start + timedelta(days=5), finding="老化",
                                risk_level="medium"),
        registry.HazardResolved(thing_id=hazard, on=start + timedelta(days=9), how="更换"),
        registry.ThingRemoved(thing_id=hazard, on=start + timedelta(days=20), reason="拆除"),
    )  # fmt: skip
    ticket = uuid.uuid4()
    received = _at(start + timedelta(days=6))
    await reg(
        "hotline_bridge", f"ticket-{ticket}",
        hotline.TicketReceived(
            ticket_id=ticket, ticket_number="2026030800002", channel="phone", received_at=received,
            category="0305", category_name="违章搭建", kind="complaint", content="楼顶搭建",
            address="沿江街道滨江社区12栋", urgency="normal",
            deadline=received + timedelta(days=5), deadline_source="hotline",
            caller_name_masked="钱**", caller_phone_masked="139****0000",
            push_fingerprint="e" * 64,
        ),
        hotline.TicketRoutedToGrid(ticket_id=ticket, grid_id=s.tree.grid, method="address",
                                   place_id=s.tree.building, detail="12栋"),
        hotline.TicketRoutedToGrid(ticket_id=ticket, grid_id=s.tree.other_grid, method="manual",
                                   place_id=s.tree.building, detail="改派"),
        hotline.TicketReplied(ticket_id=ticket, reply="已拆除", solved=True, at_source=True,
                              delivery_id=uuid.uuid4()),
    )  # fmt: skip
    await _close(core, start + timedelta(days=15), 16)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)  # PostgreSQL: the rows written with COPY, the replaced ones deleted by key lists
async def test_a_batched_rebuild_leaves_the_rows_one_by_one_leaves_in_every_batch_size(
    views: tuple[Upstream, ViewsCore], backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream, core = views
    for start in (date(2026, 3, 2), date(2026, 4, 6)):
        await _month(upstream, core, start)

    # the merged logs interleave by batch size, so each size is compared with one by one in
    # the same order: positions included
    for size in (2000, 7, 1):
        one_by_one = await _rebuilt(
            core, upstream, _twin(core, f"one{size}", one_by_one=True), size
        )
        batched = await _rebuilt(core, upstream, _twin(core, f"b{size}"), size)
        assert batched == one_by_one, f"batches of {size}"
    entries = {row[2] for row in one_by_one["entries"]}
    assert {"care_visit_missed", "care_plan_ended", "floating_moved_out", "became_floating",
            "hazard_removed", "ticket_replied", "personal_data_erased"} <= entries  # fmt: skip
    assert len(one_by_one["erased"]) >= 6

    monkeypatch.setattr(tuning, "FAST_PATHS", replace(tuning.FAST_PATHS, folding=False))
    folding_off = await _rebuilt(core, upstream, _twin(core, "off"), 2000)
    one_by_one = await _rebuilt(core, upstream, _twin(core, "one_off", one_by_one=True), 2000)
    assert folding_off == one_by_one
