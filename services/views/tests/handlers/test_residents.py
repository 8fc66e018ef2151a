"""Resident and household 360 below HTTP: the producers' events appended to their stores, the
views caught up, the pictures read with the residents view's queries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from pathlib import Path

from wangge.events.projection import active_tables
from wangge.governance.times import CHINA
from wangge.views.bootstrap import ViewsCore
from wangge.views.consumed import cases, hotline, registry
from wangge.views.personal_data import ERASED
from wangge.views.projections import residents_queries as queries
from wangge.views.projections.residents import Residents
from wangge.views.projections.residents_models import HouseholdPicture, ResidentPicture
from wangge.views.projections.roster import Roster

from views_support import (
    Tree,
    Upstream,
    plant_tree,
    rebuilt_rows,
    rows_of,
    settings_for,
    views_core,
)


def today() -> date:
    """Today in the subdistrict, asked when needed: a date fixed at import would be yesterday
    for events recorded after a midnight the run crossed."""
    return datetime.now(CHINA).date()


def ago(days: int) -> date:
    """A day ``days`` before today in the subdistrict."""
    return today() - timedelta(days=days)


class Today(Enum):
    """The default ``as_of`` of the readers below: today when read."""

    TODAY = "today"


TODAY = Today.TODAY


def _day(as_of: date | Today | None) -> date | None:
    return today() if isinstance(as_of, Today) else as_of


def moment(day: date, hour: int = 10) -> datetime:
    """A time on ``day`` in the subdistrict."""
    return datetime.combine(day, time(hour), tzinfo=CHINA)


async def resident_of(
    core: ViewsCore, person_id: uuid.UUID, as_of: date | Today | None = TODAY
) -> ResidentPicture | None:
    async with core.store.engine.connect() as conn:
        tables = await active_tables(conn, core.projection(Residents.name))
        roster = await active_tables(conn, core.projection(Roster.name))
        return await queries.resident(conn, tables, roster, person_id, as_of=_day(as_of))


async def household_of(
    core: ViewsCore, household_id: uuid.UUID, as_of: date | Today | None = TODAY
) -> HouseholdPicture | None:
    async with core.store.engine.connect() as conn:
        tables = await active_tables(conn, core.projection(Residents.name))
        roster = await active_tables(conn, core.projection(Roster.name))
        return await queries.household(conn, tables, roster, household_id, as_of=_day(as_of))


# -- the producers' events --------------------------------------------------------------------


async def register(
    upstream: Upstream, dwelling: uuid.UUID, moved_in_on: date, *, status: str = "resident"
) -> uuid.UUID:
    person_id = uuid.uuid4()
    await upstream.append(
        "registry", f"person-{person_id}",
        registry.PersonRegistered(
            person_id=person_id, sex="female", birth_year=1948, name_masked="王*",
            identity_masked="320111********123X", phone_masked="138****5678",
            hukou_type="local", residence_status=status,
        ),
        registry.PersonMovedIn(person_id=person_id, dwelling_id=dwelling, on=moved_in_on),
    )  # fmt: skip
    return person_id


async def person_events(upstream: Upstream, person_id: uuid.UUID, *events: object) -> None:
    await upstream.append("registry", f"person-{person_id}", *events)  # type: ignore[arg-type]


async def found_household(
    upstream: Upstream, dwelling: uuid.UUID, head: uuid.UUID, on: date
) -> uuid.UUID:
    household_id = uuid.uuid4()
    await upstream.append(
        "registry", f"household-{household_id}",
        registry.HouseholdRegistered(
            household_id=household_id, number=f"H{household_id.hex[:6]}", type="family",
            dwelling_id=dwelling, head_person_id=head, on=on,
        ),
        registry.HouseholdMemberJoined(
            household_id=household_id, person_id=head, relationship="head", on=on
        ),
    )  # fmt: skip
    return household_id


@dataclass(frozen=True)
class Matters:
    """What happened around a resident: a visit noting a need, an assistance case from it, a
    dispute mediated with an agreement, a care plan, a ticket at the dwelling."""

    visit: uuid.UUID
    need: uuid.UUID
    assistance: uuid.UUID
    dispute: uuid.UUID
    party: uuid.UUID
    plan: uuid.UUID
    ticket: uuid.UUID


async def happen(upstream: Upstream, tree: Tree, person_id: uuid.UUID) -> Matters:
    u = uuid.uuid4
    made = Matters(u(), u(), u(), u(), u(), u(), u())
    await upstream.append(
        "registry", f"visit-{made.visit}",
        registry.VisitRecorded(
            visit_id=made.visit, worker_account=tree.worker_account, dwelling_id=tree.dwelling,
            visited_at=moment(ago(20)), persons_confirmed=[person_id],
        ),
        registry.NeedNoted(
            visit_id=made.visit, need_id=made.need, dwelling_id=tree.dwelling,
            person_id=person_id, category="aid", description="行动不便, 需要助餐",
        ),
    )  # fmt: skip
    await upstream.append(
        "cases", f"case-{made.assistance}",
        cases.CaseOpened(
            case_id=made.assistance, kind="assistance", assistance="aid", source="visit",
            title="助餐", grid_id=tree.grid, need_id=made.need,
        ),
        cases.CaseAssigned(
            case_id=made.assistance, worker_id=tree.worker, account=tree.worker_account,
            reason="the grid's worker",
        ),
        cases.CaseAccepted(case_id=made.assistance, account=tree.worker_account),
    )  # fmt: skip
    await upstream.append(
        "cases", f"case-{made.dispute}",
        cases.CaseOpened(
            case_id=made.dispute, kind="dispute", source="walk_in", title="漏水纠纷",
            grid_id=tree.grid, subjects=[],
        ),
        cases.MediationPartyJoined(
            case_id=made.dispute, party_id=made.party, role="applicant",
            resident=str(person_id), name_masked="王*",
        ),
        cases.MediationSessionHeld(
            case_id=made.dispute, session_id=u(), held_at=moment(ago(12)), place="调解室",
            attendees=[made.party], mediators=["李调解"], summary="双方陈述",
            signed_by=[made.party],
        ),
        cases.MediationAgreementSigned(
            case_id=made.dispute, agreement_id=u(), parties=[made.party, u()], facts="漏水",
            dispute="赔偿", responsibilities="楼上", terms="赔偿500元", performance="一次付清",
            perform_by=ago(1), signed_on=ago(10), mediators=["李调解"],
            confirmation_deadline=ago(10) + timedelta(days=30),
        ),
    )  # fmt: skip
    await upstream.append(
        "cases", f"care-{made.plan}",
        cases.CarePlanStarted(
            plan_id=made.plan, resident=str(person_id), resident_masked="王*", grid_id=tree.grid,
            kind="health", every_days=7, worker_account=tree.worker_account, starts_on=ago(19),
        ),
        cases.CareVisitRecorded(
            plan_id=made.plan, visit_id=u(), visited_on=ago(17), by=tree.worker_account
        ),
    )  # fmt: skip
    await upstream.append(
        "hotline_bridge", f"ticket-{made.ticket}",
        hotline.TicketReceived(
            ticket_id=made.ticket, ticket_number="GD2026-0001", channel="phone",
            received_at=moment(ago(5)), category="water", category_name="供水", kind="complaint",
            content="楼上漏水", address="滨江社区12栋1201", urgency="normal",
            deadline=moment(ago(0), 20), deadline_source="catalogue", push_fingerprint="f1",
            caller_name_masked="王*", caller_phone_masked="138****5678",
        ),
        hotline.TicketRoutedToGrid(
            ticket_id=made.ticket, grid_id=tree.grid, method="dwelling", place_id=tree.dwelling,
            detail="the dwelling's address",
        ),
        hotline.TicketReplied(
            ticket_id=made.ticket, reply="已修复", solved=True, at_source=True, delivery_id=u()
        ),
        hotline.TicketFollowedUp(ticket_id=made.ticket, satisfaction="satisfied", resolved=True),
    )  # fmt: skip
    return made


# -- tests ------------------------------------------------------------------------------------


async def test_a_residents_picture_joins_the_registry_cases_and_the_hotline(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    person = await register(upstream, tree.dwelling, ago(400))
    await person_events(
        upstream, person,
        registry.PersonTagged(person_id=person, tag="elderly_living_alone", source="民政局",
                              valid_from=ago(300)),
        registry.PersonTagged(person_id=person, tag="subsistence_allowance", source="民政局",
                              valid_from=ago(300), valid_until=ago(30)),
    )  # fmt: skip
    household = await found_household(upstream, tree.dwelling, person, ago(400))
    made = await happen(upstream, tree, person)
    await core.catch_up(upstream=upstream.stores)

    picture = await resident_of(core, person)

    assert picture is not None
    assert (picture.person_id, picture.name_masked, picture.erased) == (person, "王*", False)
    assert picture.identity_masked == "320111********123X"
    assert picture.age_band == "70-79" and picture.residence_status == "resident"
    assert picture.personal_data.path == f"/persons/{person}/personal-data"
    assert picture.dwelling is not None
    assert (picture.dwelling.dwelling_id, picture.dwelling.grid_code) == (
        tree.dwelling, tree.grid_code,
    )  # fmt: skip
    assert picture.dwelling.community_code == tree.community_code
    assert picture.grid_worker is not None and picture.grid_worker.account == tree.worker_account
    assert [(h.household_id, h.relationship) for h in picture.households] == [(household, "head")]
    assert {(t.tag, t.state) for t in picture.tags} == {
        ("elderly_living_alone", "active"), ("subsistence_allowance", "expired"),
    }  # fmt: skip
    assert [v.visit_id for v in picture.visits] == [made.visit]
    assert [n.need_id for n in picture.needs] == [made.need]

    by_id = {c.case_id: c for c in picture.cases}
    assistance, dispute = by_id[made.assistance], by_id[made.dispute]
    assert (assistance.stage, assistance.open, assistance.concerns) == ("accepted", True, ["need"])
    assert dispute.concerns == ["applicant"] and dispute.stage == "opened"
    assert dispute.mediation is not None and dispute.mediation.sessions_held == 1
    assert dispute.mediation.session_dates == [ago(12)]
    assert dispute.mediation.agreement is not None
    assert dispute.mediation.agreement.confirmation_deadline == ago(10) + timedelta(days=30)
    assert [p.name_masked for p in dispute.mediation.parties] == ["王*"]

    [plan] = picture.care_plans
    # periods from 19 days ago: [-19, -13] visited, [-12, -6] missed, [-5, +1] due
    assert (plan.plan_id, plan.visits_done, plan.last_visit_on) == (made.plan, 1, ago(17))
    assert (plan.missed, plan.due_on) == ([ago(12)], ago(-1))

    [ticket] = picture.tickets
    assert (ticket.ticket_id, ticket.status, ticket.satisfaction, ticket.why) == (
        made.ticket, "followed_up", "satisfied", "at_dwelling",
    )  # fmt: skip

    kinds = {e.kind for e in picture.timeline}
    assert kinds >= {
        "moved_in", "tagged", "visit", "need", "case_opened", "mediation_session",
        "agreement_signed", "care_plan_started", "care_visit", "ticket_received",
    }  # fmt: skip
    days = [e.on for e in picture.timeline]
    assert days == sorted(days, reverse=True)

    home = await household_of(core, household)
    assert home is not None and home.dwelling.grid_code == tree.grid_code
    assert [(x.person_id, x.relationship, x.tags) for x in home.members] == [
        (person, "head", ["elderly_living_alone"]),
    ]  # fmt: skip
    assert {c.case_id for c in home.open_cases} == {made.assistance, made.dispute}
    assert [p.plan_id for p in home.care_plans] == [made.plan]
    assert [t.ticket_id for t in home.tickets] == [made.ticket]


async def test_as_of_a_day_before_a_move_and_a_tag_shows_the_older_state(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    person = await register(upstream, tree.dwelling, ago(400), status="floating")
    household = await found_household(upstream, tree.dwelling, person, ago(400))
    other = await register(upstream, tree.other_dwelling, ago(50))
    await person_events(
        upstream, person,
        registry.PersonMovedIn(person_id=person, dwelling_id=tree.other_dwelling, on=ago(30)),
        registry.PersonResidenceStatusChanged(person_id=person, residence_status="resident",
                                              on=ago(30)),
        registry.PersonTagged(person_id=person, tag="disabled", source="残联", valid_from=ago(20)),
    )  # fmt: skip
    await upstream.append(
        "registry",
        f"household-{household}",
        registry.HouseholdMemberJoined(
            household_id=household, person_id=other, relationship="child", on=ago(25)
        ),
    )
    await core.catch_up(upstream=upstream.stores)

    before = await resident_of(core, person, ago(31))
    now = await resident_of(core, person)

    assert before is not None and now is not None
    assert before.dwelling is not None and before.dwelling.dwelling_id == tree.dwelling
    assert (before.residence_status, before.tags) == ("floating", [])
    assert now.dwelling is not None and now.dwelling.dwelling_id == tree.other_dwelling
    assert now.residence_status == "resident" and [t.tag for t in now.tags] == ["disabled"]
    assert [c.status for c in now.residence_history] == ["floating", "resident"]
    assert await resident_of(core, person, ago(401)) is None
    assert await resident_of(core, other, ago(51)) is None

    earlier = await household_of(core, household, ago(26))
    later = await household_of(core, household)
    assert earlier is not None and later is not None
    assert [x.person_id for x in earlier.members] == [person]
    assert [x.person_id for x in later.members] == [person, other]
    assert await household_of(core, household, ago(401)) is None


async def test_an_erased_person_shows_as_erased_whichever_event_came_first_and_after_a_rebuild(
    views: tuple[Upstream, ViewsCore], tmp_path: Path
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    person = await register(upstream, tree.dwelling, ago(400))
    # the cases service's erasure reaches the views before the resident's cases and plans do
    await upstream.append(
        "cases", f"resident-{person}",
        cases.ResidentDataErased(person_id=person, legal_ground="consent_withdrawn",
                                 care_plans=[], cases=[]),
    )  # fmt: skip
    await core.catch_up(upstream=upstream.stores)
    made = await happen(upstream, tree, person)
    household = await found_household(upstream, tree.dwelling, person, ago(400))
    await core.catch_up(upstream=upstream.stores)
    other = await register(upstream, tree.dwelling, ago(100))
    await person_events(
        upstream, other, registry.PersonalDataErased(person_id=other, legal_ground="consent")
    )
    await core.catch_up(upstream=upstream.stores)

    async def check(reader: ViewsCore) -> None:
        for as_of in (today(), ago(15)):
            picture = await resident_of(reader, person, as_of)
            assert picture is not None and picture.erased
            assert (picture.name_masked, picture.identity_masked, picture.phone_masked) == (
                ERASED, ERASED, ERASED,
            )  # fmt: skip
            assert [p.resident_masked for p in picture.care_plans] == [ERASED]
        picture = await resident_of(reader, person)
        assert picture is not None
        dispute = next(c for c in picture.cases if c.case_id == made.dispute)
        assert dispute.mediation is not None
        assert [p.name_masked for p in dispute.mediation.parties] == [ERASED]
        gone = await resident_of(reader, other)
        assert gone is not None and gone.name_masked == ERASED
        home = await household_of(reader, household)
        assert home is not None
        assert [(m.name_masked, m.erased) for m in home.members] == [(ERASED, True)]

    await check(core)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    async with views_core(settings_for("sqlite", fresh, None)) as rebuilt:
        await rebuilt.catch_up(upstream=upstream.stores)
        await check(rebuilt)


async def test_a_merged_record_answers_with_its_survivors_picture(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    survivor = await register(upstream, tree.dwelling, ago(400))
    duplicate = await register(upstream, tree.dwelling, ago(300))
    case_id = uuid.uuid4()
    await upstream.append(
        "cases", f"case-{case_id}",
        cases.CaseOpened(case_id=case_id, kind="complaint", source="walk_in", title="噪音",
                         grid_id=tree.grid, subjects=[str(duplicate)]),
    )  # fmt: skip
    await person_events(
        upstream,
        duplicate,
        registry.PersonMerged(person_id=duplicate, into_person_id=survivor),
    )
    await core.catch_up(upstream=upstream.stores)

    picture = await resident_of(core, duplicate)

    assert picture is not None
    assert (picture.person_id, picture.requested_id) == (survivor, duplicate)
    assert picture.merged_from == [duplicate]
    assert [c.case_id for c in picture.cases] == [case_id]
    assert await resident_of(core, uuid.uuid4()) is None


async def test_a_rebuild_gives_the_rows_applying_batch_by_batch_gave(
    views: tuple[Upstream, ViewsCore], tmp_path: Path
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    person = await register(upstream, tree.dwelling, ago(400))
    await core.catch_up(upstream=upstream.stores)
    # a ticket routed to the dwelling, and cases naming the resident, before their registration
    # reaches this copy would be the same rows: the order between services does not matter
    made = await happen(upstream, tree, person)
    await core.catch_up(upstream=upstream.stores)
    household = await found_household(upstream, tree.dwelling, person, ago(400))
    await person_events(
        upstream, person,
        registry.PersonTagged(person_id=person, tag="disabled", source="残联", valid_from=ago(9)),
        registry.PersonUntagged(person_id=person, tag="disabled", on=ago(2), reason="复核"),
        registry.PersonalDataErased(person_id=person, legal_ground="consent_withdrawn"),
    )  # fmt: skip
    await upstream.append(
        "cases",
        f"case-{made.dispute}",
        cases.CaseResolved(case_id=made.dispute, resolution="已调解", solved=True, at_source=True),
        cases.CaseClosed(case_id=made.dispute),
        cases.PartyErased(case_id=made.dispute, party_id=made.party, legal_ground="consent"),
    )
    await upstream.append(
        "cases",
        f"care-{made.plan}",
        cases.CarePlanEnded(plan_id=made.plan, ended_on=ago(1), reason="搬离"),
    )
    await core.catch_up(upstream=upstream.stores)

    incremental = await rows_of(core, Residents.name)
    rebuilt = await rebuilt_rows(tmp_path, upstream, [Residents.name])

    assert rebuilt[Residents.name] == incremental
    assert incremental["household_facts"] and incremental["ticket_steps"]
    picture = await household_of(core, household)
    assert picture is not None
    assert [c.case_id for c in picture.open_cases] == [made.assistance]  # the dispute closed
    assert picture.care_plans == []  # the plan ended
