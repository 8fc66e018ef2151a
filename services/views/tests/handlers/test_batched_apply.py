"""The residents' and the matters' views fold each batch in memory (``projections.batching``):
rebuilt in batches of every size, and with folding switched off, they leave exactly the rows
that applying the events one by one leaves."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from wangge.events import tuning
from wangge.events.projection import Projection, ProjectionRunner
from wangge.events.sources import MergedSource, StoreSource
from wangge.views.bootstrap import ViewsCore
from wangge.views.consumed import cases, hotline, registry
from wangge.views.projections.matters import Matters
from wangge.views.projections.residents import Residents

from scenario_support import Scenario, play
from views_support import Upstream

Rows = dict[str, list[tuple[Any, ...]]]


def _twin(base: type[Projection], tag: str, *, one_by_one: bool = False) -> Projection:
    """``base`` under a name and tables of its own; ``one_by_one``: the base class's apply_many
    (each event applied with its own statements)."""

    def define_tables(self: Projection, metadata: sa.MetaData, suffix: str) -> Any:
        return base.define_tables(self, metadata, f"_{tag}{suffix}")

    members: dict[str, Any] = {"name": f"{base.name}_{tag}", "define_tables": define_tables}
    if one_by_one:
        members["apply_many"] = Projection.apply_many
    twin: type[Projection] = type(f"{base.__name__}{tag.title()}", (base,), members)
    return twin()


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
            out[name] = sorted((tuple(row) for row in rows), key=repr)
    return out


def _at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def _more(upstream: Upstream, s: Scenario, start: date) -> None:
    """Changes to rows written long before (a correction, a merge undone, a tag removed and
    given again, a household's head, a plan's end, an agreement honoured, erasures), and a
    ticket returned, reopened and answered again."""
    wang, li, zhao = s.residents
    tree, reg = s.tree, upstream.append
    later = start + timedelta(days=20)
    await reg(
        "registry", f"person-{wang}",
        registry.PersonDetailsCorrected(
            person_id=wang, sex="female", birth_year=1942, name_masked="王*",
            identity_masked="320111********124X", phone_masked=None, hukou_type="non_local",
        ),
        registry.PersonUntagged(person_id=wang, tag="elderly_living_alone", on=later,
                                reason="复核"),
        registry.PersonTagged(person_id=wang, tag="elderly_living_alone", source="复核",
                              valid_from=later + timedelta(days=1)),
        registry.PersonResidenceStatusChanged(person_id=wang, residence_status="floating",
                                              on=later),
    )  # fmt: skip
    await reg(
        "registry", f"person-{li}",
        registry.PersonMerged(person_id=li, into_person_id=wang),
        registry.PersonMergeUndone(person_id=li, from_person_id=wang),
        registry.PersonMovedOut(person_id=li, dwelling_id=tree.dwelling, on=later),
    )  # fmt: skip
    await reg(
        "registry", f"household-{s.household}",
        registry.HouseholdHeadChanged(household_id=s.household, head_person_id=li,
                                      former_head_relationship="mother", on=later),
        registry.HouseholdMemberLeft(household_id=s.household, person_id=li, on=later,
                                     reason="搬离"),
    )  # fmt: skip
    await reg(
        "hotline_bridge", f"ticket-{s.ticket}",
        hotline.TicketReopened(ticket_id=s.ticket, reason="复发", deadline=_at(later)),
        hotline.TicketReturned(ticket_id=s.ticket, reason="非本网格", by=tree.worker_account),
        correlation_id=s.correlation_id,
    )  # fmt: skip
    await reg(
        "hotline_bridge", f"ticket-{s.ticket}",
        hotline.TicketRoutedToGrid(ticket_id=s.ticket, grid_id=tree.other_grid, method="manual",
                                   place_id=tree.other_dwelling, detail="改派"),
        correlation_id=s.correlation_id, actor="hotline-account",
    )  # fmt: skip
    agreements = [
        e for e in await _events(upstream, "cases", f"case-{s.case}")
        if isinstance(e, cases.MediationAgreementSigned)
    ]  # fmt: skip
    await reg(
        "cases", f"case-{s.case}",
        cases.CaseReopened(case_id=s.case, reason="复发"),
        cases.AgreementFollowedUp(case_id=s.case, agreement_id=agreements[0].agreement_id,
                                  honoured=True, note="已履行"),
        correlation_id=s.correlation_id,
    )  # fmt: skip
    party = next(p for e in await _events(upstream, "cases", f"case-{s.case}")
                 if isinstance(e, cases.MediationPartyJoined) and e.resident is None
                 for p in [e.party_id])  # fmt: skip
    await reg(
        "cases", f"case-{s.case}",
        cases.PartyErased(case_id=s.case, party_id=party, legal_ground="consent_withdrawn"),
        # the resident joins again in the same role: one row of them among the case's residents
        cases.MediationPartyJoined(case_id=s.case, party_id=uuid.uuid4(), role="applicant",
                                   resident=str(wang), name_masked="王**"),
    )  # fmt: skip
    await reg(
        "cases", f"care-{s.plan}",
        cases.CarePlanEnded(plan_id=s.plan, ended_on=later, reason="搬离"),
    )  # fmt: skip
    await reg(
        "cases", f"resident-{zhao}",
        cases.ResidentDataErased(person_id=zhao, legal_ground="consent_withdrawn", care_plans=[],
                                 cases=[]),
    )  # fmt: skip
    await reg(
        "registry", f"person-{zhao}",
        registry.PersonalDataErased(person_id=zhao, legal_ground="consent_withdrawn"),
    )  # fmt: skip


async def _events(upstream: Upstream, service: str, stream_id: str) -> list[Any]:
    store = upstream.stores[service]
    return [e.data for e in await store.read_stream(stream_id)]


async def _history(upstream: Upstream) -> None:
    """Two months of a small grid, each followed by later changes to what it wrote."""
    for start in (date(2026, 9, 1), date(2026, 10, 5)):
        scenario = await play(upstream, start=start)
        await _more(upstream, scenario, start)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)  # PostgreSQL: the rows written with COPY, the replaced ones deleted by key lists
@pytest.mark.parametrize("base", [Residents, Matters], ids=lambda b: b.name)
async def test_a_batched_rebuild_leaves_the_rows_one_by_one_leaves(
    views: tuple[Upstream, ViewsCore],
    base: type[Projection],
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    upstream, core = views
    await _history(upstream)

    one_by_one = await _rebuilt(core, upstream, _twin(base, "one", one_by_one=True), 2000)
    builds: dict[str, Rows] = {}
    for size in (2000, 7, 1):
        builds[f"batches of {size}"] = await _rebuilt(core, upstream, _twin(base, f"b{size}"), size)
    monkeypatch.setattr(tuning, "FAST_PATHS", replace(tuning.FAST_PATHS, folding=False))
    builds["folding off"] = await _rebuilt(core, upstream, _twin(base, "off"), 2000)

    assert sum(len(rows) for rows in one_by_one.values()) > 40
    for how, rows in builds.items():
        assert rows == one_by_one, how


async def test_the_batched_rows_hold_the_later_changes(views: tuple[Upstream, ViewsCore]) -> None:
    upstream, core = views
    await _history(upstream)

    rows = await _rebuilt(core, upstream, _twin(Residents, "check"), 2000)

    tables = Residents().tables(0)

    def named(table: str) -> list[Mapping[str, Any]]:
        keys = [c.name for c in tables[table].columns]
        return [dict(zip(keys, row, strict=True)) for row in rows[table]]

    tags = [t for t in named("tags") if t["tag"] == "elderly_living_alone"]
    assert sorted(t["untagged_on"] is None for t in tags) == [False, False, True, True]
    assert {p["merged_into"] for p in named("persons")} == {None}
    assert all(p["ended_on"] is not None for p in named("care_plans"))
    assert all(a["honoured"] is True for a in named("agreements"))
    assert len(named("erasures")) == 2 * 3  # each month's: the person twice, a party


async def test_the_batched_steps_say_who_acted(views: tuple[Upstream, ViewsCore]) -> None:
    upstream, core = views
    await _history(upstream)

    rows = await _rebuilt(core, upstream, _twin(Matters, "check"), 2000)

    keys = [c.name for c in Matters().tables(0)["steps"].columns]
    steps = [dict(zip(keys, row, strict=True)) for row in rows["steps"]]
    kinds = {(s["type"], s["actor_kind"]) for s in steps if s["service"] == "hotline-bridge"}
    # the push's routing and acceptance recorded with it are the hotline's; a later routing by
    # a signed-in account is a person's
    assert {("TicketAccepted", "hotline"), ("TicketRoutedToGrid", "hotline"),
            ("TicketRoutedToGrid", "person")} <= kinds  # fmt: skip
