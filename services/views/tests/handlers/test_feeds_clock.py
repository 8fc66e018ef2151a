"""Missed care visits reach the department feeds when the day passes: the views' clock closes
each day as an event of its own log (``DayClosed``) and the feeds judge every running plan then,
by the kernel's rule less a grace, each missed period written once; the clock's worker closes
the days since the last closed one. Below HTTP, on the embedded store."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from wangge.events import Metadata
from wangge.events.projection import ProjectionRunner, active_tables
from wangge.events.sources import MergedSource, Source, StoreSource
from wangge.views.bootstrap import ViewsCore
from wangge.views.consumed import cases, registry
from wangge.views.domain import clock
from wangge.views.handlers.clock import close_day, close_days, last_closed
from wangge.views.personal_data import ERASED
from wangge.views.projections.feeds import Feeds
from wangge.views.projections.feeds_queries import feed_page
from wangge.views.projections.roster import Roster

from views_support import Tree, Upstream, comparable, plant_tree, rows_of

START = date(2026, 3, 2)  # weekly periods: 3/2-3/8, 3/9-3/15, 3/16-3/22, 3/23-3/29
WEEKS = [(START + timedelta(days=7 * n), START + timedelta(days=7 * n + 6)) for n in range(4)]


def commands(core: ViewsCore) -> Any:
    return core.commands(Metadata(actor="system:clock"))


async def close(core: ViewsCore, first: date, last: date | None = None) -> None:
    """Close the days from ``first`` to ``last`` (one day if None), as the clock would."""
    day = first
    while day <= (last or first):
        assert await close_day(commands(core), day=day)
        day += timedelta(days=1)


async def missed(core: ViewsCore, department: str) -> list[tuple[Any, ...]]:
    """(plan, care kind, name, on, until) of each missed visit in the department's feed."""
    feeds = core.projection(Feeds.name)
    assert isinstance(feeds, Feeds)
    async with core.store.engine.connect() as conn:
        places = await active_tables(conn, core.projection(Roster.name))
        paged = await feed_page(conn, feeds, places, department=department, after=None, limit=1000)
    return [
        (e.subject, e.detail, e.name, e.on, e.until)
        for e in paged.page.entries
        if e.fact == "care_visit_missed"
    ]


async def start_plan(
    upstream: Upstream, tree: Tree, *, kind: str = "health_check", person: uuid.UUID | None = None
) -> uuid.UUID:
    plan = uuid.uuid4()
    await upstream.append(
        "cases", f"careplan-{plan}",
        cases.CarePlanStarted(
            plan_id=plan, resident=str(person or uuid.uuid4()), resident_masked="李*",
            grid_id=tree.grid, kind=kind, every_days=7, worker_account=tree.worker_account,
            starts_on=START, note="每周测血压",
        ),
    )  # fmt: skip
    return plan


async def visit(upstream: Upstream, tree: Tree, plan: uuid.UUID, on: date) -> None:
    await upstream.append(
        "cases", f"careplan-{plan}",
        cases.CareVisitRecorded(plan_id=plan, visit_id=uuid.uuid4(), visited_on=on,
                                by=tree.worker_account),
    )  # fmt: skip


def weeks(plan: uuid.UUID, *numbers: int, kind: str = "health_check") -> list[tuple[Any, ...]]:
    return [(str(plan), kind, "李*", *WEEKS[n]) for n in numbers]


async def rebuilt_in_place(core: ViewsCore, upstream: Upstream) -> dict[str, Any]:
    """The feeds replayed from the first event of every log they read (the views' own clock
    included) into a new generation, as a rebuild does, then swapped in; their rows."""
    feeds = core.projection(Feeds.name)
    sources: list[Source] = [
        StoreSource(upstream.stores[s], key=f"store:{s}", idle_seconds=0)
        if s != "views" else StoreSource(core.store, idle_seconds=0)
        for s in feeds.reads
    ]  # fmt: skip
    runner = ProjectionRunner(feeds, engine=core.store.engine, source=MergedSource(sources))
    await runner.rebuild()
    return comparable(Feeds.name, await rows_of(core, Feeds.name))


# -- missed visits when the days pass --------------------------------------------------------


async def test_a_plan_without_visits_shows_its_missed_weeks_as_the_days_close(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    plan = await start_plan(upstream, tree)
    await core.catch_up(upstream=upstream.stores)
    assert await missed(core, "health") == []

    await close(core, START, date(2026, 3, 24))  # three weeks on, and not one event of the plan
    await core.catch_up(upstream=upstream.stores)
    assert await missed(core, "health") == weeks(plan, 0, 1, 2)
    assert await missed(core, "civil_affairs") == weeks(plan, 0, 1, 2)


async def test_a_plan_the_catalogue_gives_only_civil_affairs_misses_only_there(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    plan = await start_plan(upstream, tree, kind="companionship")
    await close(core, date(2026, 3, 17))
    await core.catch_up(upstream=upstream.stores)
    assert await missed(core, "civil_affairs") == weeks(plan, 0, 1, kind="companionship")
    assert await missed(core, "health") == []


async def test_a_visit_in_a_period_stops_that_periods_entry(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    plan = await start_plan(upstream, tree)
    await visit(upstream, tree, plan, date(2026, 3, 11))
    await close(core, START, date(2026, 3, 24))
    await core.catch_up(upstream=upstream.stores)
    assert await missed(core, "health") == weeks(plan, 0, 2)


async def test_a_period_is_missed_once_two_days_of_grace_are_over(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    plan = await start_plan(upstream, tree)
    await close(core, START, date(2026, 3, 9))  # the first week's last day, and a day of grace
    await core.catch_up(upstream=upstream.stores)
    assert await missed(core, "health") == []
    await close(core, date(2026, 3, 10))
    await core.catch_up(upstream=upstream.stores)
    assert await missed(core, "health") == weeks(plan, 0)


async def test_a_visit_recorded_within_the_grace_counts_and_one_recorded_later_leaves_the_entry(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    plan = await start_plan(upstream, tree)
    await close(core, START, date(2026, 3, 9))
    await core.catch_up(upstream=upstream.stores)
    await visit(upstream, tree, plan, date(2026, 3, 8))  # the first week's, written up late
    await close(core, date(2026, 3, 10), date(2026, 3, 17))
    await core.catch_up(upstream=upstream.stores)
    assert await missed(core, "health") == weeks(plan, 1)

    await visit(upstream, tree, plan, date(2026, 3, 14))  # the second week's, too late
    await close(core, date(2026, 3, 18), date(2026, 3, 24))
    await core.catch_up(upstream=upstream.stores)
    assert await missed(core, "health") == weeks(plan, 1, 2)  # written once, and it stays


async def test_an_ended_plan_reports_its_last_miss_after_the_grace_and_nothing_more(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    plan = await start_plan(upstream, tree)
    await close(core, START, date(2026, 3, 8))
    await core.catch_up(upstream=upstream.stores)
    await upstream.append(
        "cases", f"careplan-{plan}",
        cases.CarePlanEnded(plan_id=plan, ended_on=date(2026, 3, 12), reason="搬走"),
    )  # fmt: skip
    await close(core, date(2026, 3, 9), date(2026, 4, 30))
    await core.catch_up(upstream=upstream.stores)
    # the first week ended before the plan did: missed; the second was cut short by the end
    assert await missed(core, "health") == weeks(plan, 0)
    plans = (await rows_of(core, Feeds.name))["plans"]
    assert [row[-1] for row in plans] == [True]  # settled: no close looks at it again


async def test_an_erased_plan_or_resident_reports_nothing_more(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    erased_plan = await start_plan(upstream, tree)
    person = uuid.uuid4()
    await upstream.append(
        "registry", f"person-{person}",
        registry.PersonRegistered(
            person_id=person, sex="female", birth_year=1950, name_masked="李*",
            identity_masked="320111********123X", hukou_type="local", residence_status="resident",
        ),
    )  # fmt: skip
    erased_person = await start_plan(upstream, tree, person=person)
    await close(core, START, date(2026, 3, 10))
    await core.catch_up(upstream=upstream.stores)
    assert [m[0] for m in await missed(core, "health")] == [
        str(p) for p in sorted([erased_plan, erased_person])
    ]
    await upstream.append(
        "cases", f"careplan-{erased_plan}",
        cases.CarePlanDataErased(plan_id=erased_plan, legal_ground="consent_withdrawn"),
    )  # fmt: skip
    await upstream.append(
        "registry", f"person-{person}",
        registry.PersonalDataErased(person_id=person, legal_ground="consent_withdrawn"),
    )  # fmt: skip
    await close(core, date(2026, 3, 11), date(2026, 3, 31))
    await core.catch_up(upstream=upstream.stores)
    after = await missed(core, "health")
    assert len(after) == 2  # the first week's, written before; nothing since
    assert {m[2] for m in after} == {ERASED}


async def test_closing_a_day_twice_changes_nothing(views: tuple[Upstream, ViewsCore]) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    await start_plan(upstream, tree)
    await close(core, date(2026, 3, 10))
    await core.catch_up(upstream=upstream.stores)
    before = await rows_of(core, Feeds.name)
    assert not await close_day(commands(core), day=date(2026, 3, 10))
    await core.catch_up(upstream=upstream.stores)
    assert await rows_of(core, Feeds.name) == before
    assert await core.store.stream_version(clock.stream_id(date(2026, 3, 10))) == 1


async def test_a_rebuild_leaves_the_entries_the_days_closed_one_by_one_left(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    plan = await start_plan(upstream, tree)
    other = await start_plan(upstream, tree, kind="companionship")
    day = START

    async def close_through(last: date) -> None:
        nonlocal day
        while day <= last:
            await close(core, day)
            await core.catch_up(upstream=upstream.stores)
            day += timedelta(days=1)

    # the first week's visit within the grace, the second's after its miss was written, the
    # third's in time; the other plan's end recorded after its third week was written missed
    for on, recorded_after in (
        (date(2026, 3, 8), date(2026, 3, 9)),
        (date(2026, 3, 14), date(2026, 3, 20)),
        (date(2026, 3, 20), date(2026, 3, 21)),
    ):
        await close_through(recorded_after)
        await visit(upstream, tree, plan, on)
        await core.catch_up(upstream=upstream.stores)
    await close_through(date(2026, 3, 25))
    await upstream.append(
        "cases", f"careplan-{other}",
        cases.CarePlanEnded(plan_id=other, ended_on=date(2026, 3, 19), reason="搬走"),
    )  # fmt: skip
    await close_through(date(2026, 4, 6))
    assert [m[3] for m in await missed(core, "health")] == [date(2026, 3, 9), date(2026, 3, 23)]
    assert [m[3] for m in await missed(core, "civil_affairs") if m[0] == str(other)] == [
        START, date(2026, 3, 9), date(2026, 3, 16),
    ]  # fmt: skip
    incremental = comparable(Feeds.name, await rows_of(core, Feeds.name))
    assert await rebuilt_in_place(core, upstream) == incremental


# -- the clock's worker -------------------------------------------------------------------------


def cst(year: int, month: int, day: int, hour: int) -> datetime:
    """A moment given in China Standard Time, as the worker gets it (UTC)."""
    return datetime(year, month, day, hour, tzinfo=UTC) - timedelta(hours=8)


async def test_a_fresh_deployment_closes_yesterday_only_and_then_each_day_since(
    views: tuple[Upstream, ViewsCore],
) -> None:
    _, core = views
    # 01:00 in Shanghai on 3/25 is still 3/24 in UTC: yesterday is the subdistrict's 3/24
    assert await close_days(commands(core), now=cst(2026, 3, 25, 1)) == [date(2026, 3, 24)]
    assert await close_days(commands(core), now=cst(2026, 3, 25, 23)) == []
    assert await close_days(commands(core), now=cst(2026, 3, 28, 0)) == [
        date(2026, 3, 25), date(2026, 3, 26), date(2026, 3, 27),
    ]  # fmt: skip
    assert await last_closed(core.store, yesterday=date(2026, 3, 30)) == date(2026, 3, 27)


async def test_a_deployment_idle_past_the_look_back_starts_again_at_yesterday(
    views: tuple[Upstream, ViewsCore],
) -> None:
    _, core = views
    await close(core, date(2026, 1, 1))
    assert await close_days(commands(core), now=cst(2026, 3, 25, 1)) == [date(2026, 3, 24)]
    assert await core.store.stream_version(clock.stream_id(date(2026, 1, 2))) == 0


async def test_the_worker_closes_through_the_feeds_on_the_embedded_store(
    views: tuple[Upstream, ViewsCore], tmp_path: Path
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    plan = await start_plan(upstream, tree)
    await close(core, date(2026, 3, 1))
    await close_days(commands(core), now=cst(2026, 3, 25, 0))
    await core.catch_up(upstream=upstream.stores)
    assert await missed(core, "health") == weeks(plan, 0, 1, 2)
