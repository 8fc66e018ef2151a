"""The month's hotline figures of an area, from its tickets (the bridge's /rates and the grid
dashboard both count by them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from wangge.governance.hotline_figures import TicketFacts, figures, month_bounds, standing_day

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
LATER = T0 + timedelta(days=30)
"""A moment every window of the tickets below has closed by."""


def facts(**changes: object) -> TicketFacts:
    base: dict[str, object] = {
        "kind": "complaint", "received_at": T0, "deadline": T0 + timedelta(days=10),
        "accepted_at": T0 + timedelta(hours=2), "replied_at": T0 + timedelta(days=3),
        "solved": True, "at_source": True, "satisfaction": "satisfied", "resolved": True,
    }  # fmt: skip
    return TicketFacts(**(base | changes))  # type: ignore[arg-type]


def test_each_rate_counts_only_the_tickets_it_applies_to() -> None:
    result = figures(
        [
            facts(),
            facts(kind="enquiry", accepted_at=T0 + timedelta(days=2), at_source=False),
            facts(replied_at=T0 + timedelta(days=11), satisfaction="unsatisfied", resolved=False),
            facts(accepted_at=None, replied_at=None, satisfaction=None, resolved=None),
        ],
        residents=2000,
        now=LATER,
    )
    assert (result.tickets, result.complaints, result.complaint_rate) == (4, 3, 1.5)
    assert result.response_rate == 0.5  # one late, one never accepted
    assert result.solved_at_source_rate == round(2 / 3, 4)
    assert result.on_time_rate == round(2 / 3, 4)
    assert (result.satisfaction_rate, result.resolution_rate) == (round(2 / 3, 4), round(2 / 3, 4))


def test_basically_satisfied_counts_as_satisfied_and_the_rates_are_rounded() -> None:
    result = figures(
        [
            facts(satisfaction="basically_satisfied", deadline=T0 + timedelta(days=3)),
            facts(kind="request", accepted_at=T0 + timedelta(hours=30),
                  replied_at=T0 + timedelta(days=5), at_source=False, satisfaction="unsatisfied",
                  resolved=False, deadline=T0 + timedelta(days=3)),
            facts(accepted_at=None, replied_at=None, solved=None, at_source=None,
                  satisfaction=None, resolved=None),
        ],
        residents=1500, now=LATER,
    )  # fmt: skip
    assert (result.tickets, result.complaints, result.complaint_rate) == (3, 2, 1.33)
    assert result.response_rate == 0.3333
    assert (result.solved_at_source_rate, result.on_time_rate) == (0.5, 0.5)
    assert (result.resolution_rate, result.satisfaction_rate) == (0.5, 0.5)


def test_an_area_without_tickets_or_residents_has_no_rates() -> None:
    empty = figures([], residents=0, now=LATER)
    assert (empty.tickets, empty.complaint_rate, empty.satisfaction_rate) == (0, None, None)
    assert empty.response_rate is None


def test_months_are_counted_in_china_standard_time() -> None:
    start, end = month_bounds("2026-12")
    assert start.astimezone(UTC) == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert end.astimezone(UTC) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def test_a_ticket_inside_its_response_window_is_pending_not_unanswered() -> None:
    now = T0 + timedelta(hours=5)
    result = figures(
        [
            facts(),  # accepted after 2 hours: responded
            facts(accepted_at=None, replied_at=None),  # received 5 hours ago: pending
            facts(received_at=now - timedelta(hours=25), accepted_at=None, replied_at=None),
        ],
        residents=1000,
        now=now,
    )
    assert (result.response_pending, result.response_rate) == (1, 0.5)
    # a day later its window has closed unanswered
    later = figures(
        [facts(accepted_at=None, replied_at=None)], residents=1000, now=T0 + timedelta(days=1)
    )
    assert (later.response_pending, later.response_rate) == (0, 0.0)


def test_a_ticket_accepted_inside_its_window_is_responded_while_the_window_is_open() -> None:
    result = figures([facts()], residents=1000, now=T0 + timedelta(hours=3))
    assert (result.response_pending, result.response_rate) == (0, 1.0)


def test_only_pending_tickets_leave_no_response_rate() -> None:
    result = figures([facts(accepted_at=None, replied_at=None)], residents=1000, now=T0)
    assert (result.tickets, result.response_pending, result.response_rate) == (1, 1, None)


def test_residents_are_counted_on_the_months_last_day_or_today_while_it_runs() -> None:
    assert standing_day("2026-11", today=date(2026, 12, 7)) == date(2026, 11, 30)
    assert standing_day("2026-12", today=date(2026, 12, 7)) == date(2026, 12, 7)
    assert standing_day("2024-02", today=date(2026, 12, 7)) == date(2024, 2, 29)
    assert standing_day("2026-12", today=date(2027, 1, 1)) == date(2026, 12, 31)
