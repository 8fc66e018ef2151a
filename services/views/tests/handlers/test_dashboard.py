"""The grid dashboard below HTTP: the producers' events appended to their stores, the views
caught up, an area's months read back by the dashboard's query."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from wangge.events import IntegrationEvent
from wangge.events.projection import active_tables
from wangge.views.bootstrap import ViewsCore
from wangge.views.consumed import cases, hotline, registry, training
from wangge.views.domain.figures import CST
from wangge.views.projections.dashboard import Dashboard
from wangge.views.projections.dashboard_queries import MonthFigures, area_of, monthly
from wangge.views.projections.roster import Roster

from views_support import Tree, Upstream, plant_tree, push_ticket, rebuilt_rows, rows_of


def now() -> datetime:
    """The subdistrict's clock, asked when needed: a time fixed at import would be yesterday's
    for events recorded after a midnight the run crossed."""
    return datetime.now(CST)


async def _ticket(
    upstream: Upstream, grid: uuid.UUID, *, kind: str = "complaint", handled: bool = False
) -> uuid.UUID:
    received = now() - timedelta(minutes=1)
    ticket, stream = await push_ticket(upstream, grid, received=received, kind=kind)
    if handled:
        await upstream.append(
            "hotline_bridge", stream,
            hotline.TicketAccepted(ticket_id=ticket, grid_id=grid),
            hotline.TicketReplied(
                ticket_id=ticket, reply="已处理", solved=True, at_source=True,
                delivery_id=uuid.uuid4(),
            ),
            hotline.TicketFollowedUp(ticket_id=ticket, satisfaction="satisfied", resolved=True),
            hotline.TicketReopened(
                ticket_id=ticket, reason="again", deadline=received + timedelta(days=10)
            ),
        )  # fmt: skip
    return ticket


async def _case(upstream: Upstream, grid: uuid.UUID, kind: str, *events: str) -> None:
    case = uuid.uuid4()
    late = now() - timedelta(days=1) if kind == "dispute" else now() + timedelta(days=30)
    await upstream.append(
        "cases", f"case-{case}",
        cases.CaseOpened(case_id=case, kind=kind, source="visit", title="t", grid_id=grid,
                         deadline=late),
    )  # fmt: skip
    steps = {
        "resolved": cases.CaseResolved(case_id=case, resolution="r", solved=True, at_source=True),
        "reopened": cases.CaseReopened(case_id=case, reason="again"),
    }
    for step in events:
        await upstream.append("cases", f"case-{case}", steps[step])


async def _person(
    upstream: Upstream, status: str, dwelling: uuid.UUID, moved_in: date, *extra: object
) -> uuid.UUID:
    person = uuid.uuid4()
    await upstream.append(
        "registry", f"person-{person}",
        registry.PersonRegistered(
            person_id=person, sex="female", birth_year=1950, name_masked="王*",
            identity_masked="320111********123X", hukou_type="local", residence_status=status,
        ),
        registry.PersonMovedIn(person_id=person, dwelling_id=dwelling, on=moved_in),
    )  # fmt: skip
    for event in extra:
        assert isinstance(event, IntegrationEvent)
        await upstream.append("registry", f"person-{person}", event.model_copy(
            update={"person_id": person}))  # fmt: skip
    return person


async def _world(upstream: Upstream, core: ViewsCore) -> Tree:
    """A grid's year: residents by status, tags, a care plan, cases, tickets, hazards, the
    worker's training; caught up in several batches."""
    tree = await plant_tree(upstream)
    await core.catch_up(upstream=upstream.stores)
    nobody = uuid.uuid4()
    await _person(
        upstream, "resident", tree.dwelling, date(2025, 1, 10),
        registry.PersonTagged(person_id=nobody, tag="elderly_alone", source="visit",
                              valid_from=date(2025, 1, 1)),
    )  # fmt: skip
    await _person(
        upstream, "floating", tree.dwelling, date(2026, 6, 1),
        registry.PersonTagged(person_id=nobody, tag="disabled", source="visit",
                              valid_from=date(2026, 1, 1), valid_until=date(2026, 8, 31)),
    )  # fmt: skip
    await _person(
        upstream, "lodging", tree.other_dwelling, date(2025, 3, 1),
        registry.PersonMovedOut(person_id=nobody, dwelling_id=tree.other_dwelling,
                                on=date(2026, 11, 15)),
    )  # fmt: skip
    for hazard, closed in ((uuid.uuid4(), False), (uuid.uuid4(), True)):
        await upstream.append(
            "registry", f"thing-{hazard}",
            registry.ThingRegistered(thing_id=hazard, kind="hazard_point", category="fire_lane",
                                     name="消防通道堵塞", place_id=tree.building),
            registry.ThingInspected(
                thing_id=hazard, on=now().date(), finding="堵塞", risk_level="high"
            ),
        )  # fmt: skip
        if closed:
            await upstream.append(
                "registry",
                f"thing-{hazard}",
                registry.HazardResolved(thing_id=hazard, on=now().date(), how="清理"),
            )
    await core.catch_up(upstream=upstream.stores)
    plan = uuid.uuid4()
    await upstream.append(
        "cases", f"care-{plan}",
        cases.CarePlanStarted(plan_id=plan, resident="p", resident_masked="王*", grid_id=tree.grid,
                              kind="blood_pressure", every_days=7, worker_account="worker-zhang",
                              starts_on=date(2026, 3, 2)),
        *(cases.CareVisitRecorded(plan_id=plan, visit_id=uuid.uuid4(), visited_on=day, by="z")
          for day in (date(2026, 3, 3), date(2026, 4, 7), date(2026, 4, 20))),
    )  # fmt: skip
    await _case(upstream, tree.grid, "dispute")
    await _case(upstream, tree.grid, "complaint", "resolved")
    await _case(upstream, tree.grid, "hazard", "resolved", "reopened")
    await _ticket(upstream, tree.grid, handled=True)
    await _ticket(upstream, tree.grid, kind="consultation")
    await _ticket(upstream, tree.other_grid)
    await core.catch_up(upstream=upstream.stores)
    programme, session, old = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    nine = datetime(2026, 3, 10, 9, tzinfo=CST)
    await upstream.append(
        "training", f"programme-{programme}",
        training.ProgrammeDefined(programme_id=programme, name="6+1+3", ordered=False,
                                  modules=[{"code": "M1", "title": "入户", "hours": 2}]),
        training.WorkerEnrolledInProgramme(programme_id=programme, worker_id=tree.worker,
                                           on=date(2026, 3, 1)),
    )  # fmt: skip
    for sid, starts, hours, of in (
        (session, nine, 2, programme),
        (old, nine.replace(2025), 3, None),
    ):
        await upstream.append(
            "training", f"session-{sid}",
            training.TrainingSessionScheduled(
                session_id=sid, topic="入户走访", programme_id=of,
                module_code="M1" if of else None, instructors=[], starts_at=starts,
                ends_at=starts + timedelta(hours=hours), place="社区", capacity=20,
            ),
            training.AttendanceRecorded(session_id=sid, worker_id=tree.worker,
                                        attendance="present", recorded_by="t"),
        )  # fmt: skip
    await core.catch_up(upstream=upstream.stores)
    return tree


async def _months(core: ViewsCore, code: str, kind: str, as_of: date) -> list[MonthFigures]:
    async with core.store.engine.connect() as conn:
        places = await active_tables(conn, core.projection(Roster.name))
        tables = await active_tables(conn, core.projection(Dashboard.name))
        area = await area_of(conn, places["places"], code, kind)
        assert area is not None
        return await monthly(conn, tables, places, area.grid_ids, as_of=as_of)


async def test_a_grids_month_shows_its_tickets_cases_hazards_and_residents(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await _world(upstream, core)
    today = now().date()
    series = await _months(core, tree.grid_code, "grid", today)
    assert len(series) == 24
    assert [m.month.first for m in series] == sorted(m.month.first for m in series)
    m = series[-1]
    assert m.month.label == f"{today.year:04d}-{today.month:02d}"
    assert (m.hotline.tickets, m.hotline.complaints, m.hotline.residents) == (2, 1, 2)
    assert m.hotline.complaint_rate == 500.0
    # the unaccepted ticket came a minute ago: pending, not counted against the rate
    assert (m.hotline.response_rate, m.hotline.response_pending) == (1.0, 1)
    assert (m.hotline.solved_at_source_rate, m.hotline.on_time_rate) == (1.0, 1.0)
    assert (m.hotline.resolution_rate, m.hotline.satisfaction_rate) == (1.0, 1.0)
    assert (m.cases.open, m.cases.overdue) == (2, 1)
    assert m.cases.by_kind == {"dispute": 1, "hazard": 1}
    assert m.cases.by_age["0-7"] == 2
    assert (m.hazards.open, m.hazards.by_risk) == (1, {"high": 1})
    assert (m.residents.resident, m.residents.floating, m.residents.lodging) == (1, 1, 0)
    assert m.residents.moved_out == 1
    assert (m.special_groups.people, m.special_groups.by_tag) == (1, {"elderly_alone": 1})
    assert (m.training.workers, m.training.enrolments, m.training.completed) == (1, 1, 1)
    assert m.training.hours_this_year == 2.0


async def test_as_of_a_past_month_answers_as_it_stood_then(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await _world(upstream, core)
    series = await _months(core, tree.grid_code, "grid", date(2026, 4, 15))
    april, march, february = series[-1], series[-2], series[-3]
    assert april.month.label == "2026-04" and len(series) == 24
    assert (april.care.due, april.care.done, april.care.missed) == (4, 1, 1)
    assert april.care.coverage_rate == 0.25
    assert (march.care.due, march.care.done, march.care.missed) == (4, 1, 3)
    assert (april.residents.resident, april.residents.floating, april.residents.lodging) == (
        1, 0, 1,
    )  # fmt: skip
    assert april.special_groups.by_tag == {"elderly_alone": 1}
    assert (april.hazards.open, april.cases.open, april.hotline.tickets) == (0, 0, 0)
    # the hotline divides April by April's residents (the floating one came in June)
    assert april.hotline.residents == april.residents.living == 2
    assert (march.training.completed, march.training.hours_this_year) == (1, 2.0)
    assert (february.training.enrolments, february.training.hours_this_year) == (0, 0.0)
    summer = await _months(core, tree.grid_code, "grid", date(2026, 7, 31))
    assert summer[-1].special_groups.by_tag == {"disabled": 1, "elderly_alone": 1}


async def test_a_community_and_the_subdistrict_sum_their_grids(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await _world(upstream, core)
    grid = (await _months(core, tree.grid_code, "grid", now().date()))[-1]
    other = (await _months(core, tree.other_grid_code, "grid", now().date()))[-1]
    for code, kind in ((tree.community_code, "community"), (tree.subdistrict_code, "subdistrict")):
        whole = (await _months(core, code, kind, now().date()))[-1]
        assert whole.hotline.tickets == grid.hotline.tickets + other.hotline.tickets == 3
        assert whole.hotline.residents == 2
        assert whole.hotline.complaint_rate == 1000.0  # 2 complaints of 2 residents, recomputed
        assert whole.hotline.response_rate == 1.0  # one accepted, two inside their 24 hours
        assert whole.hotline.response_pending == 2
        # October's last day still had the lodger of the other grid, who left in November
        october = (await _months(core, code, kind, date(2026, 10, 31)))[-1]
        assert october.hotline.residents == 3
        assert whole.cases.open == grid.cases.open + other.cases.open
        assert whole.residents.living == grid.residents.living + other.residents.living


async def test_a_rebuild_leaves_the_rows_the_increments_left(
    views: tuple[Upstream, ViewsCore], tmp_path: Path
) -> None:
    upstream, core = views
    await _world(upstream, core)
    incremental = await rows_of(core, Dashboard.name)
    rebuilt = await rebuilt_rows(tmp_path, upstream, [Dashboard.name])
    assert incremental == rebuilt[Dashboard.name]
    assert len(incremental["tickets"]) == 3 and len(incremental["residents"]) == 7


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_dashboard_read_again_is_computed_again_only_after_new_events(
    views: tuple[Upstream, ViewsCore], backend: str
) -> None:
    """A read between two batches costs a read of the runners' state (on PostgreSQL too:
    positions and parked counts in one union), not of the facts."""
    upstream, core = views
    tree = await _world(upstream, core)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(core.store.engine.sync_engine, "before_cursor_execute", count)
    first = await _months(core, tree.grid_code, "grid", now().date())
    computing = len(statements)
    statements.clear()
    again = await _months(core, tree.grid_code, "grid", now().date())
    assert again == first
    # the area, the generations (memo), then one read of the runners' state: no fact read
    assert len(statements) < computing and not any("views_dashboard_" in s for s in statements)
    await _ticket(upstream, tree.grid)
    await core.catch_up(upstream=upstream.stores)
    statements.clear()
    after = await _months(core, tree.grid_code, "grid", now().date())
    assert after[-1].hotline.tickets == first[-1].hotline.tickets + 1
    assert any("views_dashboard_tickets" in s for s in statements)
    sa.event.remove(core.store.engine.sync_engine, "before_cursor_execute", count)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_a_record_merged_into_another_counts_on_no_day_until_the_merge_is_undone(
    views: tuple[Upstream, ViewsCore], backend: str
) -> None:
    """As the hotline bridge counts the complaint rate's residents (by construction equal):
    the two records were always one human, so a month long over counts them once too."""
    upstream, core = views
    tree = await _world(upstream, core)
    kept = await _person(upstream, "resident", tree.dwelling, date(2025, 1, 10))
    duplicate = await _person(upstream, "resident", tree.dwelling, date(2025, 1, 10))
    await core.catch_up(upstream=upstream.stores)

    async def counted() -> list[tuple[int, int]]:
        out = []
        for as_of in (date(2026, 4, 15), now().date()):
            m = (await _months(core, tree.grid_code, "grid", as_of))[-1]
            out.append((m.hotline.residents, m.residents.living))
        return out

    assert await counted() == [(4, 4), (4, 4)]
    stream = f"person-{duplicate}"
    await upstream.append(
        "registry", stream, registry.PersonMerged(person_id=duplicate, into_person_id=kept)
    )
    await core.catch_up(upstream=upstream.stores)
    assert await counted() == [(3, 3), (3, 3)]
    await upstream.append(
        "registry", stream, registry.PersonMergeUndone(person_id=duplicate, from_person_id=kept)
    )
    await core.catch_up(upstream=upstream.stores)
    assert await counted() == [(4, 4), (4, 4)]
