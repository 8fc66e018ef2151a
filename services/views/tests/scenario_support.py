"""A month of a small grid in every producer's log, as the views read it: residents moving in,
tagged, visited and a need noted; a 12345 ticket routed, accepted, replied and rated, the
complaint case it became mediated to a signed agreement; a care plan with visits; a hazard; a
worker's training; one resident's erasure. Every view has something to show from it, so a test
can compare two builds of all of them at once (from the event tables, from Kafka, rebuilt)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from wangge.views.consumed import cases, hotline, registry, training

from views_support import Tree, Upstream, plant_tree


@dataclass(frozen=True)
class Scenario:
    """The ids a test asks the views about."""

    tree: Tree
    residents: tuple[uuid.UUID, ...]
    erased: uuid.UUID
    household: uuid.UUID
    ticket: uuid.UUID
    case: uuid.UUID
    correlation_id: str
    plan: uuid.UUID


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


async def play(upstream: Upstream, *, start: date = date(2026, 11, 2)) -> Scenario:
    """Append the month to the producers' stores (its dates from ``start`` on)."""
    tree = await plant_tree(upstream)
    reg = upstream.append
    wang, li, zhao = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    people = [
        (wang, "王**", "resident", tree.dwelling),
        (li, "李**", "floating", tree.dwelling),
        (zhao, "赵**", "resident", tree.other_dwelling),
    ]
    for person, name, status, dwelling in people:
        await reg(
            "registry", f"person-{person}",
            registry.PersonRegistered(
                person_id=person, sex="female", birth_year=1941, name_masked=name,
                identity_masked="320111********123X", phone_masked="138****5678",
                hukou_type="local", residence_status=status,
            ),
            registry.PersonMovedIn(person_id=person, dwelling_id=dwelling, on=start),
        )  # fmt: skip
    household = uuid.uuid4()
    await reg(
        "registry", f"household-{household}",
        registry.HouseholdRegistered(household_id=household, number="H-001", type="family",
                                     dwelling_id=tree.dwelling, head_person_id=wang, on=start),
        registry.HouseholdMemberJoined(household_id=household, person_id=li,
                                       relationship="daughter", on=start),
    )  # fmt: skip
    await reg(
        "registry", f"person-{wang}",
        registry.PersonTagged(person_id=wang, tag="elderly_living_alone", source="民政局",
                              valid_from=start),
        registry.PersonTagged(person_id=wang, tag="severe_mental_disorder", source="卫健局",
                              valid_from=start, valid_until=start + timedelta(days=10)),
    )  # fmt: skip
    visit, need = uuid.uuid4(), uuid.uuid4()
    await reg(
        "registry", f"visit-{visit}",
        registry.VisitRecorded(visit_id=visit, worker_account=tree.worker_account,
                               dwelling_id=tree.dwelling, household_id=household,
                               visited_at=_at(start + timedelta(days=1)),
                               persons_confirmed=[wang, li]),
        registry.NeedNoted(visit_id=visit, need_id=need, dwelling_id=tree.dwelling,
                           household_id=household, person_id=wang, category="care",
                           description="需要每周量血压"),
    )  # fmt: skip
    thing = uuid.uuid4()
    await reg(
        "registry", f"thing-{thing}",
        registry.ThingRegistered(thing_id=thing, kind="facility", category="fire_safety",
                                 name="12栋消防通道", place_id=tree.building),
        registry.ThingInspected(thing_id=thing, on=start + timedelta(days=3),
                                finding="消防通道堵塞", risk_level="high"),
    )  # fmt: skip
    # a 12345 ticket, the case it became, mediation, the reply and the caller's rating
    ticket, case, correlation = uuid.uuid4(), uuid.uuid4(), f"ticket-{uuid.uuid4()}"
    received = _at(start + timedelta(days=4))
    await reg(
        "hotline_bridge", f"ticket-{ticket}",
        hotline.TicketReceived(
            ticket_id=ticket, ticket_number="2026110400001", channel="phone", received_at=received,
            category="noise", category_name="噪声扰民", kind="complaint", content="楼上装修噪声",
            address="沿江街道滨江社区12栋1201", urgency="normal",
            deadline=received + timedelta(days=5), deadline_source="hotline",
            caller_name_masked="王**", caller_phone_masked="138****5678",
            push_fingerprint="f" * 64,
        ),
        hotline.TicketRoutedToGrid(ticket_id=ticket, grid_id=tree.grid, method="address",
                                   place_id=tree.dwelling, detail="12栋1201"),
        hotline.TicketAccepted(ticket_id=ticket, grid_id=tree.grid),
        correlation_id=correlation,
    )  # fmt: skip
    party_a, party_b, agreement, session = (uuid.uuid4() for _ in range(4))
    await reg(
        "cases", f"case-{case}",
        cases.CaseOpened(case_id=case, kind="complaint", source="hotline", title="装修噪声",
                         grid_id=tree.grid, subjects=[str(wang)], ticket_id=ticket,
                         deadline=received + timedelta(days=5)),
        cases.CaseAssigned(case_id=case, worker_id=tree.worker, account=tree.worker_account,
                           reason="grid"),
        cases.CaseAccepted(case_id=case, account=tree.worker_account),
        cases.MediationPartyJoined(case_id=case, party_id=party_a, role="applicant",
                                   resident=str(wang), name_masked="王**"),
        cases.MediationPartyJoined(case_id=case, party_id=party_b, role="respondent",
                                   name_masked="孙**"),
        cases.MediationSessionHeld(case_id=case, session_id=session,
                                   held_at=received + timedelta(days=1), place="调解室",
                                   attendees=[party_a, party_b], mediators=["调解员甲"],
                                   summary="双方同意", signed_by=[party_a, party_b]),
        cases.MediationAgreementSigned(
            case_id=case, agreement_id=agreement, parties=[party_a, party_b], facts="装修噪声",
            dispute="施工时间", responsibilities="施工方", terms="晚八点后停工", performance="即时",
            perform_by=start + timedelta(days=10), signed_on=start + timedelta(days=5),
            mediators=["调解员甲"], confirmation_deadline=start + timedelta(days=35),
        ),
        cases.CaseResolved(case_id=case, resolution="达成调解协议", solved=True, at_source=True),
        correlation_id=correlation,
    )  # fmt: skip
    await reg(
        "hotline_bridge", f"ticket-{ticket}",
        hotline.TicketReplied(ticket_id=ticket, reply="已调解", solved=True, at_source=True,
                              delivery_id=uuid.uuid4()),
        hotline.TicketFollowedUp(ticket_id=ticket, satisfaction="satisfied", resolved=True),
        hotline.TicketClosed(ticket_id=ticket),
        correlation_id=correlation,
    )  # fmt: skip
    await reg("cases", f"case-{case}", cases.CaseClosed(case_id=case), correlation_id=correlation)
    plan = uuid.uuid4()
    await reg(
        "cases", f"care-{plan}",
        cases.CarePlanStarted(plan_id=plan, resident=str(wang), resident_masked="王**",
                              grid_id=tree.grid, kind="blood_pressure", every_days=7,
                              worker_account=tree.worker_account, starts_on=start),
        cases.CareVisitRecorded(plan_id=plan, visit_id=uuid.uuid4(),
                                visited_on=start + timedelta(days=6), by=tree.worker_account),
    )  # fmt: skip
    programme, training_session = uuid.uuid4(), uuid.uuid4()
    await reg(
        "training", f"programme-{programme}",
        training.ProgrammeDefined(programme_id=programme, name="专题轮训", ordered=False,
                                  modules=[{"code": "law", "title": "法律", "hours": 2}]),
        training.WorkerEnrolledInProgramme(programme_id=programme, worker_id=tree.worker,
                                           on=start),
    )  # fmt: skip
    await reg(
        "training", f"session-{training_session}",
        training.TrainingSessionScheduled(
            session_id=training_session, topic="法律", programme_id=programme, module_code="law",
            instructors=[{"name": "李律师", "kind": "outside"}],
            starts_at=_at(start + timedelta(days=2)), ends_at=_at(start + timedelta(days=2), 11),
            place="街道会议室", capacity=30,
        ),
        training.AttendanceRecorded(session_id=training_session, worker_id=tree.worker,
                                    attendance="present", recorded_by="trainer-1"),
    )  # fmt: skip
    await reg(
        "registry", f"person-{zhao}",
        registry.PersonalDataErased(person_id=zhao, legal_ground="consent_withdrawn"),
    )  # fmt: skip
    return Scenario(tree, (wang, li, zhao), zhao, household, ticket, case, correlation, plan)
