"""The folds behind resident and household 360: residence, homes, members, tags, a case's stage,
a ticket's state (care visits due and missed: the governance kernel's schedule)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from wangge.views.domain import residents as fold
from wangge.views.domain.residents import Fact, HouseholdFact, MemberFact, PersonFact, TagState

A, B = uuid.uuid4(), uuid.uuid4()
D = date


def test_the_day_ends_at_midnight_in_the_subdistrict() -> None:
    assert fold.recorded_by(datetime(2026, 3, 1, 15, 59, tzinfo=UTC), D(2026, 3, 1))
    assert not fold.recorded_by(datetime(2026, 3, 1, 16, 0, tzinfo=UTC), D(2026, 3, 1))


def test_age_bands_follow_the_birth_year() -> None:
    day = D(2026, 6, 1)
    assert [fold.age_band(y, day) for y in (2010, 2000, 1986, 1950, 1940)] == [
        "0-17", "18-29", "40-49", "70-79", "80+",
    ]  # fmt: skip


FACTS = [
    Fact(1, PersonFact.REGISTERED, None, status="floating"),
    Fact(2, PersonFact.MOVED_IN, D(2025, 3, 1), dwelling_id=A),
    Fact(3, PersonFact.STATUS, D(2025, 9, 1), status="resident"),
    Fact(4, PersonFact.MOVED_IN, D(2026, 2, 1), dwelling_id=B),
    Fact(5, PersonFact.MOVED_OUT, D(2026, 5, 1), dwelling_id=B),
]


def test_residence_status_is_replayed_up_to_the_day() -> None:
    assert [c.status for c in fold.residence(FACTS, D(2025, 8, 31))] == ["floating"]
    history = fold.residence(FACTS, D(2026, 6, 1))
    assert [(c.on, c.status) for c in history] == [
        (None, "floating"), (D(2025, 9, 1), "resident"), (D(2026, 5, 1), "moved_out"),
    ]  # fmt: skip


def test_a_move_back_in_makes_a_moved_out_person_resident_again() -> None:
    back = [*FACTS, Fact(6, PersonFact.MOVED_IN, D(2026, 8, 1), dwelling_id=A)]
    assert fold.residence(back, D(2026, 8, 1))[-1].status == "resident"


def test_homes_move_from_dwelling_to_dwelling_and_end_with_a_move_out() -> None:
    stays = fold.homes(FACTS, D(2026, 6, 1))
    assert stays == [
        fold.Home(A, D(2025, 3, 1), D(2026, 2, 1)), fold.Home(B, D(2026, 2, 1), D(2026, 5, 1)),
    ]  # fmt: skip
    assert fold.home_on(stays, D(2026, 1, 31)) == stays[0]
    assert fold.home_on(stays, D(2026, 5, 1)) is None
    assert fold.home_on(fold.homes(FACTS, D(2025, 2, 28)), D(2025, 2, 28)) is None
    assert fold.lived_at(stays, A, D(2025, 12, 1))
    assert not fold.lived_at(stays, A, D(2026, 2, 1))


def test_members_join_leave_and_the_head_changes() -> None:
    facts = [
        MemberFact(2, HouseholdFact.JOINED, D(2025, 1, 1), A, "head"),
        MemberFact(3, HouseholdFact.JOINED, D(2025, 6, 1), B, "child"),
        MemberFact(4, HouseholdFact.HEAD, D(2026, 1, 1), B, "parent"),
        MemberFact(5, HouseholdFact.LEFT, D(2026, 3, 1), A),
    ]
    assert fold.members(facts, D(2025, 5, 31)) == [fold.Member(A, "head", D(2025, 1, 1))]
    assert {(x.person_id, x.relationship) for x in fold.members(facts, D(2026, 1, 1))} == {
        (A, "parent"), (B, "head"),
    }  # fmt: skip
    assert fold.members(facts, D(2026, 3, 1)) == [fold.Member(B, "head", D(2025, 6, 1))]


def test_a_tag_is_active_then_expired_or_untagged() -> None:
    day = D(2026, 6, 1)
    assert fold.tag_state(D(2026, 7, 1), None, None, day) is None
    assert fold.tag_state(D(2026, 1, 1), None, None, day) == TagState.ACTIVE
    assert fold.tag_state(D(2026, 1, 1), D(2026, 6, 1), None, day) == TagState.ACTIVE
    assert fold.tag_state(D(2026, 1, 1), D(2026, 5, 31), None, day) == TagState.EXPIRED
    assert fold.tag_state(D(2026, 1, 1), D(2026, 5, 31), D(2026, 3, 1), day) == TagState.UNTAGGED
    assert fold.tag_state(D(2026, 1, 1), None, D(2026, 6, 2), day) == TagState.ACTIVE


def test_a_case_moves_through_its_stages_as_the_cases_service_moves_it() -> None:
    assert fold.stage([]) == fold.Stage.OPENED
    assert fold.stage(["assigned", "accepted", "worked"]) == fold.Stage.IN_PROGRESS
    # a reassignment of a case already taken on leaves its stage; progress before acceptance too
    assert fold.stage(["assigned", "accepted", "assigned"]) == fold.Stage.ACCEPTED
    assert fold.stage(["assigned", "worked"]) == fold.Stage.ASSIGNED
    done = ["assigned", "accepted", "resolved", "closed"]
    assert fold.stage(done) == fold.Stage.CLOSED
    assert fold.stage([*done, "reopened", "followed_up"]) == fold.Stage.IN_PROGRESS
    assert fold.stage(["escalated", "referred"]) == fold.Stage.ESCALATED


def test_a_ticket_is_where_its_last_step_left_it_at_its_last_routing() -> None:
    steps = [
        fold.TicketStep(1, "received"),
        fold.TicketStep(2, "routed", place_id=A, grid_id=B),
        fold.TicketStep(3, "returned"),
        fold.TicketStep(4, "routed", place_id=B, grid_id=B),
        fold.TicketStep(5, "replied"),
        fold.TicketStep(6, "reminder"),
        fold.TicketStep(7, "followed_up", satisfaction="satisfied"),
    ]
    state = fold.ticket_state(reversed(steps))
    assert state == fold.TicketState("followed_up", B, B, "satisfied")
    assert fold.ticket_state(steps[:3]).status == "returned"
