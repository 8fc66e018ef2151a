"""The dashboard folds each batch in memory (``projections.dashboard_changes.Batch``): built in
batches of every size, incrementally, and with folding switched off, it leaves exactly the
rows that applying the events one by one with SQL leaves."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from wangge.events import tuning
from wangge.events.projection import Projection, ProjectionRunner
from wangge.events.sources import MergedSource, StoreSource
from wangge.views.bootstrap import ViewsCore
from wangge.views.consumed import cases, hotline, registry, training
from wangge.views.projections.dashboard import Dashboard

from scenario_support import Scenario, play
from views_support import Upstream, rows_of

Rows = dict[str, list[tuple[Any, ...]]]


class Batched(Dashboard):
    """The dashboard under tables of its own, folding its batches."""

    name = "views_dashboard_batched"

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Any:
        return super().define_tables(metadata, f"_b{suffix}")


class OneByOne(Dashboard):
    """The dashboard under tables of its own, each event applied alone with SQL."""

    name = "views_dashboard_one_by_one"
    apply_many = Projection.apply_many

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Any:
        return super().define_tables(metadata, f"_one{suffix}")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)  # SQLite keeps naive UTC
    if isinstance(value, list):
        return tuple(tuple(sorted(v.items())) if isinstance(v, dict) else v for v in value)
    return value


async def _rebuilt(
    core: ViewsCore, upstream: Upstream, projection: Projection, batch_size: int
) -> Rows:
    """Every row of ``projection`` rebuilt from the producers' first events in batches of
    ``batch_size`` (each table's rows sorted)."""
    sources = [
        StoreSource(upstream.stores[s], key=f"store:{s}", idle_seconds=0) for s in projection.reads
    ]
    runner = ProjectionRunner(
        projection, engine=core.store.engine, source=MergedSource(sources), batch_size=batch_size
    )
    await runner.rebuild()
    out: Rows = {}
    async with core.store.engine.connect() as conn:
        for name, table in projection.tables(runner.generation).items():
            rows = (await conn.execute(sa.select(table))).all()
            out[name] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
    return out


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def _more(upstream: Upstream, s: Scenario, start: date) -> None:
    """Every event the dashboard reads changing rows written before, in the same streams and
    in new ones: a ticket extended, reopened and answered again; the case reopened, resolved,
    closed twice and reopened; the plan ended; moves out and in, a status changed, tags given
    again and removed; records merged (and a merge undone); hazards inspected, resolved and
    removed (and a key facility); a session rescheduled and cancelled, attendance and scores
    corrected, a worker leaving a programme and enrolled again."""
    wang, li, zhao = s.residents
    tree, reg = s.tree, upstream.append
    later = start + timedelta(days=20)
    await reg(
        "hotline_bridge", f"ticket-{s.ticket}",
        hotline.TicketExtensionDecided(ticket_id=s.ticket, approved=True,
                                       deadline=_at(later)),
        hotline.TicketReopened(ticket_id=s.ticket, reason="复发", deadline=_at(later, 12)),
        hotline.TicketReplied(ticket_id=s.ticket, reply="再次处理", solved=False,
                              at_source=False, delivery_id=uuid.uuid4()),
        hotline.TicketFollowedUp(ticket_id=s.ticket, satisfaction="dissatisfied",
                                 resolved=False),
    )  # fmt: skip
    fresh = uuid.uuid4()
    received = _at(later)
    await reg(
        "hotline_bridge", f"ticket-{fresh}",
        hotline.TicketReceived(
            ticket_id=fresh, ticket_number="2026112200001", channel="web", received_at=received,
            category="noise", category_name="噪声扰民", kind="consultation", content="咨询",
            address="滨江社区12栋", urgency="normal", deadline=received + timedelta(days=3),
            deadline_source="hotline", push_fingerprint="e" * 64,
        ),
        hotline.TicketRoutedToGrid(ticket_id=fresh, grid_id=tree.other_grid, method="address",
                                   detail="12栋"),
        hotline.TicketAccepted(ticket_id=fresh, grid_id=tree.other_grid),
    )  # fmt: skip
    await reg(
        "cases", f"case-{s.case}",
        cases.CaseReopened(case_id=s.case, reason="复发"),
        cases.CaseReopened(case_id=s.case, reason="again, while open"),
        cases.CaseResolved(case_id=s.case, resolution="再调解", solved=True, at_source=False),
        cases.CaseClosed(case_id=s.case),
        cases.CaseClosed(case_id=s.case, note="closed twice"),
        cases.CaseReopened(case_id=s.case, reason="third time"),
    )  # fmt: skip
    other = uuid.uuid4()
    await reg(
        "cases", f"case-{other}",
        cases.CaseOpened(case_id=other, kind="assistance", source="visit", title="求助",
                         grid_id=tree.other_grid),
        cases.CaseClosed(case_id=other),
    )  # fmt: skip
    await reg(
        "cases", f"care-{s.plan}",
        cases.CareVisitRecorded(plan_id=s.plan, visit_id=uuid.uuid4(), visited_on=later,
                                by=tree.worker_account),
        cases.CarePlanEnded(plan_id=s.plan, ended_on=later, reason="入院"),
    )  # fmt: skip
    await reg(
        "registry", f"person-{wang}",
        registry.PersonUntagged(person_id=wang, tag="elderly_living_alone", on=later,
                                reason="复核"),
        registry.PersonTagged(person_id=wang, tag="elderly_living_alone", source="复核",
                              valid_from=later + timedelta(days=1)),
        registry.PersonTagged(person_id=wang, tag="elderly_living_alone", source="again",
                              valid_from=later + timedelta(days=2)),
        registry.PersonResidenceStatusChanged(person_id=wang, residence_status="floating",
                                              on=later),
        registry.PersonMovedOut(person_id=wang, dwelling_id=tree.dwelling, on=later),
        registry.PersonMovedIn(person_id=wang, dwelling_id=tree.other_dwelling,
                               on=later + timedelta(days=1)),
    )  # fmt: skip
    await reg(
        "registry", f"person-{li}",
        registry.PersonMovedOut(person_id=li, dwelling_id=tree.dwelling, on=later),
    )  # fmt: skip
    newcomer = uuid.uuid4()
    await reg(
        "registry", f"person-{newcomer}",
        registry.PersonRegistered(person_id=newcomer, sex="male", birth_year=1990,
                                  name_masked="钱*", identity_masked="320111********1234",
                                  hukou_type="non_local", residence_status="lodging"),
        registry.PersonMovedIn(person_id=newcomer, dwelling_id=tree.dwelling, on=later),
        registry.PersonTagged(person_id=newcomer, tag="disabled", source="残联",
                              valid_from=later, valid_until=later + timedelta(days=90)),
        registry.PersonUntagged(person_id=newcomer, tag="disabled", on=later,
                                reason="复核"),
        registry.PersonMovedOut(person_id=newcomer, dwelling_id=tree.dwelling, on=later),
    )  # fmt: skip
    # a record merged into another: its periods marked, the one a later move starts as well,
    # whether the merge came in an earlier batch or in the same one as the moves before it
    await reg(
        "registry", f"person-{zhao}",
        registry.PersonMerged(person_id=zhao, into_person_id=wang),
        registry.PersonMergeUndone(person_id=zhao, from_person_id=wang),
        registry.PersonMerged(person_id=zhao, into_person_id=li),
    )  # fmt: skip
    twice = uuid.uuid4()
    await reg(
        "registry", f"person-{twice}",
        registry.PersonRegistered(person_id=twice, sex="male", birth_year=1990,
                                  name_masked="钱*", identity_masked="320111********1234",
                                  hukou_type="non_local", residence_status="lodging"),
        registry.PersonMovedIn(person_id=twice, dwelling_id=tree.dwelling, on=later),
        registry.PersonMerged(person_id=twice, into_person_id=newcomer),
        registry.PersonMovedOut(person_id=twice, dwelling_id=tree.dwelling, on=later),
    )  # fmt: skip
    for kind in ("hazard_point", "key_facility"):
        thing = uuid.uuid4()
        await reg(
            "registry", f"thing-{thing}",
            registry.ThingRegistered(thing_id=thing, kind=kind, category="fire_lane",
                                     name="消防通道", place_id=tree.building, risk_level="low"),
            registry.ThingInspected(thing_id=thing, on=later, finding="ok"),
            registry.ThingInspected(thing_id=thing, on=later, finding="堵塞", risk_level="high"),
            registry.HazardResolved(thing_id=thing, on=later, how="清理"),
            registry.ThingRemoved(thing_id=thing, on=later + timedelta(days=1), reason="拆除"),
        )  # fmt: skip
    await _training(upstream, s, later)


async def _training(upstream: Upstream, s: Scenario, later: date) -> None:
    tree, reg = s.tree, upstream.append
    programme, session = uuid.uuid4(), uuid.uuid4()
    await reg(
        "training", f"programme-{programme}",
        training.ProgrammeDefined(programme_id=programme, name="6+1+3", ordered=True,
                                  modules=[{"code": "M1", "title": "入户", "hours": 2}],
                                  period_days=90),
        training.WorkerEnrolledInProgramme(programme_id=programme, worker_id=tree.worker,
                                           on=later),
        training.WorkerLeftProgramme(programme_id=programme, worker_id=tree.worker,
                                     on=later + timedelta(days=1), reason="调岗"),
        training.WorkerEnrolledInProgramme(programme_id=programme, worker_id=tree.worker,
                                           on=later + timedelta(days=2)),
    )  # fmt: skip
    starts = _at(later, 9)
    await reg(
        "training", f"session-{session}",
        training.TrainingSessionScheduled(
            session_id=session, topic="入户", programme_id=programme, module_code="M1",
            instructors=[], starts_at=starts, ends_at=starts + timedelta(hours=2), place="社区",
            capacity=20,
        ),
        training.AttendanceRecorded(session_id=session, worker_id=tree.worker,
                                    attendance="absent", recorded_by="t"),
        training.AttendanceRecorded(session_id=session, worker_id=tree.worker,
                                    attendance="present", recorded_by="t"),
        training.AssessmentRecorded(session_id=session, worker_id=tree.worker, score=55,
                                    max_score=100, recorded_by="t"),
        training.AssessmentRecorded(session_id=session, worker_id=tree.worker, score=85,
                                    max_score=100, recorded_by="t"),
        training.TrainingSessionRescheduled(session_id=session, starts_at=starts,
                                            ends_at=starts + timedelta(hours=3), place="街道",
                                            reason="场地"),
    )  # fmt: skip
    cancelled = uuid.uuid4()
    await reg(
        "training", f"session-{cancelled}",
        training.TrainingSessionScheduled(
            session_id=cancelled, topic="消防", programme_id=None, module_code=None,
            instructors=[], starts_at=starts, ends_at=starts + timedelta(hours=1), place="社区",
            capacity=20,
        ),
        training.TrainingSessionCancelled(session_id=cancelled, reason="天气"),
    )  # fmt: skip


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def test_batches_of_every_size_leave_the_rows_one_by_one_leaves(
    views: tuple[Upstream, ViewsCore], monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """On PostgreSQL the batch's rows go in by COPY, and its groups are loaded and deleted by
    lists of keys (two columns for a worker's attendance)."""
    upstream, core = views
    start = date(2026, 11, 2)
    scenario = await play(upstream, start=start)
    await core.catch_up(upstream=upstream.stores)  # the month, then the changes: increments
    await _more(upstream, scenario, start)
    await core.catch_up(upstream=upstream.stores)
    expected = await _rebuilt(core, upstream, OneByOne(), 2000)
    incremental = await rows_of(core, Dashboard.name)
    assert {k: [tuple(_plain(v) for v in r) for r in rows] for k, rows in incremental.items()} == (
        expected
    )
    for size in (1, 3, 7, 2000):
        assert await _rebuilt(core, upstream, Batched(), size) == expected, size
    # what the batch covers: every table has rows, and rows changed after they were written
    assert all(expected[name] for name in expected), [k for k, v in expected.items() if not v]
    assert (len(expected["case_spans"]), len(expected["residents"])) == (4, 16)
    merged = [row for row in expected["residents"] if row[-1]]
    assert len(merged) >= 4  # zhao's, and every period of the record merged at once
    monkeypatch.setattr(tuning, "FAST_PATHS", replace(tuning.FAST_PATHS, folding=False))
    assert await _rebuilt(core, upstream, Batched(), 2000) == expected
