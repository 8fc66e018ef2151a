"""Other services' facts on cases, as pure decisions: given a case's events, when a hotline or
registry fact arrives, then the events it records (never a refusal: the fact has happened)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from wangge.cases.domain import appointments, cases, upstream
from wangge.events import DomainEvent

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TOMORROW = datetime.now(UTC) + timedelta(days=1)
WORKER = (uuid.uuid4(), "worker-320111001-001-002")


def fold(events: list[DomainEvent]) -> cases.Case:
    state: cases.Case | None = None
    for version, event in enumerate(events, 1):
        state = cases.evolve(state, event, version)
    assert state is not None
    return state


def routed(
    case: cases.Case | None = None,
    brief: upstream.TicketBrief | None = None,
    ticket_id: uuid.UUID | None = None,
) -> list[DomainEvent]:
    ticket_id = ticket_id or uuid.uuid4()
    return upstream.ticket_routed(
        case, case_id=cases.case_for(f"ticket:{ticket_id}"), ticket_id=ticket_id,
        grid_id=uuid.uuid4(), brief=brief, worker=WORKER,
    )  # fmt: skip


def brief(deadline: datetime, content: str = "路灯不亮") -> upstream.TicketBrief:
    return upstream.TicketBrief(
        ticket_number="2026112700123", title="市政设施: 江心洲社区3栋", content=content,
        deadline=deadline,
    )  # fmt: skip


def hotline_case() -> tuple[cases.Case, list[DomainEvent]]:
    """A complaint case a routed ticket opened, assigned to the grid's worker; its events."""
    events = routed(brief=brief(TOMORROW))
    return fold(events), events


# -- a ticket routed to a grid ---------------------------------------------------------------------


def test_a_ticket_routed_after_its_deadline_opens_an_overdue_case() -> None:
    # an emergency ticket (2 hours) received 3 hours before it was pushed and routed
    deadline = datetime.now(UTC) - timedelta(hours=1)
    events = routed(brief=brief(deadline))
    assert [type(e) for e in events] == [cases.CaseOpened, cases.CaseAssigned]
    opened = events[0]
    assert isinstance(opened, cases.CaseOpened)
    assert opened.deadline == deadline  # kept, in the past: overdue from the start
    assert fold(events).status == cases.Status.ASSIGNED


def test_a_client_still_cannot_open_a_case_whose_deadline_has_passed() -> None:
    for deadline in (NOW - timedelta(hours=1), NOW):
        with pytest.raises(cases.InvalidCase, match="passed"):
            cases.open_case(
                case_id=uuid.uuid4(), kind=cases.CaseKind.COMPLAINT, source=cases.Source.WALK_IN,
                title="t", description="", grid_id=uuid.uuid4(), deadline=deadline, now=NOW,
            )  # fmt: skip


def test_a_ticket_routed_again_opens_no_second_case() -> None:
    ticket_id = uuid.uuid4()
    case = fold(routed(brief=brief(TOMORROW), ticket_id=ticket_id))
    assert routed(case, brief=brief(TOMORROW), ticket_id=ticket_id) == []


def test_a_ticket_routed_without_its_brief_opens_a_case_from_the_routing_alone() -> None:
    ticket_id = uuid.uuid4()
    events = routed(ticket_id=ticket_id)
    opened = events[0]
    assert isinstance(opened, cases.CaseOpened)
    assert opened.ticket_id == ticket_id
    assert opened.deadline is None
    assert str(ticket_id) in opened.title


def test_a_ticket_longer_than_a_case_keeps_is_cut_not_refused() -> None:
    events = routed(brief=brief(TOMORROW, content="长" * 5000))
    opened = events[0]
    assert isinstance(opened, cases.CaseOpened)
    assert len(opened.description) == 4000


def test_repeated_complaints_open_one_proactive_case_with_or_without_a_grid() -> None:
    case_id, hotspot = uuid.uuid4(), uuid.uuid4()
    title = "3 complaints in 30 days: " + "噪音扰民" * 100
    events = upstream.complaints_repeated(
        None, case_id=case_id, hotspot_id=hotspot, title=title, grid_id=None, worker=None
    )
    opened = events[0]
    assert isinstance(opened, cases.CaseOpened)
    assert (len(events), opened.kind, len(opened.title)) == (1, cases.CaseKind.PROACTIVE, 200)
    again = upstream.complaints_repeated(
        fold(events), case_id=case_id, hotspot_id=hotspot, title=title, grid_id=None, worker=None
    )
    assert again == []


# -- the ticket's later life -----------------------------------------------------------------------


def test_a_follow_up_is_recorded_on_a_case_the_grid_answered_through_the_hotline_bridge() -> None:
    case, _ = hotline_case()  # still assigned: the reply went out through the hotline bridge
    events = upstream.ticket_followed_up(case, satisfied=True, note="满意")
    assert events == [cases.CaseFollowedUp(case_id=case.case_id, satisfied=True, note="满意")]


def test_a_closed_ticket_closes_its_case_even_if_the_case_was_never_resolved() -> None:
    case, history = hotline_case()
    events = upstream.ticket_closed(case)
    assert [type(e) for e in events] == [cases.CaseClosed]
    closed = fold([*history, *events])
    assert closed.status == cases.Status.CLOSED
    assert upstream.ticket_closed(closed) == []


def test_a_reopened_ticket_reopens_a_resolved_case_and_leaves_an_open_one_alone() -> None:
    case, _ = hotline_case()
    resolved = replace(case, status=cases.Status.RESOLVED)
    assert [type(e) for e in upstream.ticket_reopened(resolved, reason="不满意")] == [
        cases.CaseReopened
    ]
    assert upstream.ticket_reopened(case, reason="不满意") == []


def test_a_ticket_returned_to_the_hotline_closes_its_case() -> None:
    case, _ = hotline_case()
    events = upstream.ticket_returned(case, reason="不属于本街道")
    assert len(events) == 1
    closed = events[0]
    assert isinstance(closed, cases.CaseClosed)
    assert closed.note is not None and "不属于本街道" in closed.note


@pytest.mark.parametrize("status", list(cases.Status))
def test_no_fact_of_the_hotline_is_refused_whatever_the_case_status(
    status: cases.Status,
) -> None:
    case = replace(hotline_case()[0], status=status)
    for decide in (
        lambda c: upstream.ticket_followed_up(c, satisfied=False, note="不满意"),
        upstream.ticket_closed,
        lambda c: upstream.ticket_reopened(c, reason="r"),
        lambda c: upstream.ticket_returned(c, reason="r"),
    ):
        decide(case)  # raises nothing
        assert decide(None) == []  # a ticket that opened no case here: nothing to record


# -- grid workers' appointments, arriving in any order across workers' streams ---------------------

A, B = uuid.uuid4(), uuid.uuid4()
G, H = uuid.uuid4(), uuid.uuid4()
T = [NOW + timedelta(minutes=m) for m in range(5)]


Fact = tuple[str, uuid.UUID, list[uuid.UUID], datetime]


def holders(facts: list[Fact]) -> dict[uuid.UUID, uuid.UUID | None]:
    """Apply appointments ("appoint") and departures ("leave") in the order given."""
    held: dict[uuid.UUID, appointments.Hold] = {}
    for kind, worker, grid_ids, at in facts:
        if kind == "appoint":
            held |= appointments.appoint(held, worker_id=worker, grid_ids=grid_ids, at=at)
        else:
            held |= appointments.leave(held, worker_id=worker, at=at)
    return {grid: hold.worker_id for grid, hold in held.items()}


def test_an_older_appointment_arriving_after_a_newer_one_does_not_take_the_grid() -> None:
    newer: Fact = ("appoint", B, [G], T[2])
    older: Fact = ("appoint", A, [G, H], T[1])
    assert holders([newer, older]) == {G: B, H: A}
    won = appointments.appoint(
        {G: appointments.Hold(B, T[2])}, worker_id=A, grid_ids=[G, H], at=T[1]
    )
    assert appointments.won(won, A) == [H]


def test_a_grid_given_up_is_not_taken_by_an_older_appointment_arriving_late() -> None:
    b_appointed: Fact = ("appoint", B, [G], T[0])
    a_appointed: Fact = ("appoint", A, [G], T[1])
    a_left: Fact = ("leave", A, [], T[3])
    assert holders([b_appointed, a_appointed, a_left]) == {G: None}
    assert holders([a_appointed, a_left, b_appointed]) == {G: None}


def test_workers_appointments_leave_the_same_holders_in_any_order_across_workers() -> None:
    a_stream: list[Fact] = [("appoint", A, [G], T[0]), ("leave", A, [], T[2])]
    b_stream: list[Fact] = [("appoint", B, [G], T[1]), ("appoint", B, [G, H], T[3])]
    in_order = holders(sorted([*a_stream, *b_stream], key=lambda f: f[3]))
    assert in_order == {G: B, H: B}
    # every interleaving that keeps each worker's own stream in order
    for slots in itertools.combinations(range(4), 2):
        a, b = iter(a_stream), iter(b_stream)
        arrival = [next(a) if i in slots else next(b) for i in range(4)]
        assert holders(arrival) == in_order, arrival


# -- the worker a new case gets ------------------------------------------------------------------


def test_a_new_case_goes_to_the_worker_the_take_over_knows_whatever_the_roster_says() -> None:
    held = appointments.Hold(A, T[1])
    assert appointments.responsible(held, account="a", roster=None) == (A, "a")
    assert appointments.responsible(held, account="a", roster=(B, "b")) == (A, "a")


def test_a_new_case_in_a_grid_given_up_goes_to_nobody_even_if_the_roster_lags() -> None:
    given_up = appointments.Hold(None, T[2])
    assert appointments.responsible(given_up, account=None, roster=(A, "a")) is None


def test_a_new_case_has_nobody_when_its_workers_appointment_never_reached_the_take_over() -> None:
    # a reassignment whose appointment was cut from the history: no account to hand it to
    assert appointments.responsible(appointments.Hold(A, T[1]), account=None, roster=None) is None


def test_a_grid_the_take_over_never_decided_about_takes_the_rosters_worker() -> None:
    # kept before the take-over kept holds, or not yet applied there (it moves the case then)
    assert appointments.responsible(None, account=None, roster=(A, "a")) == (A, "a")
    assert appointments.responsible(None, account=None, roster=None) is None
