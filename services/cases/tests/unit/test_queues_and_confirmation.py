"""Where an escalation or referral puts a case and who signs for it, and an agreement's window
for judicial confirmation (司法确认): reminded once, lapsed after, never both for a request."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from pydantic import ValidationError

from wangge.cases.domain import cases, mediation
from wangge.cases.domain.cases import Confirmation, Level
from wangge.cases.handlers.cases import Escalation, Referral

from case_support import TODAY, held, opened, run, with_parties

SIGNED = date(2026, 11, 2)
DEADLINE = SIGNED + timedelta(days=30)


def agreed() -> cases.Case:
    case, parties = with_parties(opened())
    case = held(case, parties)
    return run(
        case,
        mediation.sign_agreement(
            case, agreement_id=uuid.uuid4(), signed_by=parties, facts="f", dispute="d",
            responsibilities="r", terms="t", performance="p", perform_by=SIGNED,
            signed_on=SIGNED, seal=None,
        ),
    )  # fmt: skip


def test_an_escalation_puts_the_case_in_its_levels_queue_or_the_departments() -> None:
    case = opened(cases.CaseKind.HAZARD)
    up = run(
        case, cases.escalate(case, level=Level.COMMUNITY, to="滨江社区", reason="r", seal=None)
    )
    assert (up.status, up.queue, up.queue_accepted) == ("escalated", "community", False)
    to_police = cases.escalate(up, level=Level.DEPARTMENT, to="police", reason="r", seal=None)
    assert run(up, to_police).queue == "police"
    referred = run(case, cases.refer(case, department="urban_management", reason="r", seal=None))
    # a referral leaves the case with its grid, which keeps following it
    assert (referred.status, referred.queue) == ("accepted", "urban_management")


def test_only_the_queue_the_case_is_in_signs_for_it_and_only_once() -> None:
    case = opened(cases.CaseKind.HAZARD)
    case = run(case, cases.refer(case, department="police", reason="r", seal=None))
    with pytest.raises(cases.WrongStatus):
        cases.sign_for(case, queue="health", account="police-1")
    [signed] = cases.sign_for(case, queue="police", account="police-1")
    assert isinstance(signed, cases.HandoverAccepted)
    case = run(case, [signed])
    assert case.queue_accepted and case.status == "accepted"
    assert cases.sign_for(case, queue="police", account="police-2") == []
    # escalated again, it waits to be signed for anew
    case = run(
        case, cases.escalate(case, level=Level.SUBDISTRICT, to="街道", reason="r", seal=None)
    )
    assert (case.queue, case.queue_accepted) == ("subdistrict", False)
    resolved = run(
        case, cases.resolve(case, resolution="r", solved=True, at_source=False, seal=None)
    )
    with pytest.raises(cases.WrongStatus):
        cases.sign_for(resolved, queue="subdistrict", account="admin")


def test_a_department_is_named_as_its_role_and_never_as_a_level() -> None:
    assert Referral(department="civil_affairs", reason="r").department == "civil_affairs"
    for name in ("城管", "Police", "community", "subdistrict", "p"):
        with pytest.raises(ValidationError):
            Referral(department=name, reason="r")
    with pytest.raises(ValidationError, match="department"):
        Escalation(level=Level.DEPARTMENT, to="公安", reason="r")
    # who at the community or subdistrict is free text
    assert Escalation(level=Level.COMMUNITY, to="滨江社区", reason="r").to == "滨江社区"


def test_the_window_reminds_once_within_its_days_and_lapses_after_its_last_day() -> None:
    case = agreed()
    assert (case.confirmation, case.confirmation_deadline) == (Confirmation.OPEN, DEADLINE)
    assert mediation.confirmation_due(case, today=DEADLINE - timedelta(days=8), remind_days=7) == []
    [reminder] = mediation.confirmation_due(case, today=DEADLINE - timedelta(days=7), remind_days=7)
    assert isinstance(reminder, cases.ConfirmationReminderDue) and reminder.days_left == 7
    case = run(case, [reminder])
    assert mediation.confirmation_due(case, today=DEADLINE, remind_days=7) == []
    [lapsed] = mediation.confirmation_due(case, today=DEADLINE + timedelta(days=1), remind_days=7)
    assert isinstance(lapsed, cases.ConfirmationWindowClosed)
    case = run(case, [lapsed])
    assert case.confirmation == Confirmation.LAPSED
    assert mediation.confirmation_due(case, today=DEADLINE + timedelta(days=9), remind_days=7) == []


def test_a_sweep_that_missed_the_reminder_days_records_only_the_lapse() -> None:
    [lapsed] = mediation.confirmation_due(
        agreed(), today=DEADLINE + timedelta(days=3), remind_days=7
    )
    assert isinstance(lapsed, cases.ConfirmationWindowClosed)


def test_a_request_in_time_stops_the_reminder_and_counts_even_recorded_after_the_lapse() -> None:
    case = agreed()
    today = DEADLINE + timedelta(days=2)
    case = run(case, mediation.confirmation_due(case, today=today, remind_days=7))
    assert case.confirmation == Confirmation.LAPSED
    for late in (DEADLINE + timedelta(days=1), today + timedelta(days=1)):
        with pytest.raises(cases.InvalidCase):
            mediation.request_confirmation(case, requested_on=late, court="法院", today=today)
    with pytest.raises(cases.InvalidCase):
        mediation.request_confirmation(
            case, requested_on=SIGNED - timedelta(days=1), court="法院", today=today
        )
    [asked] = mediation.request_confirmation(
        case, requested_on=DEADLINE, court="鼓楼区法院", today=today
    )
    case = run(case, [asked])
    assert case.confirmation == Confirmation.REQUESTED
    assert mediation.confirmation_due(case, today=today, remind_days=7) == []
    assert mediation.request_confirmation(case, requested_on=SIGNED, court="x", today=today) == []
    with pytest.raises(cases.WrongStatus):
        mediation.request_confirmation(opened(), requested_on=TODAY, court="x", today=TODAY)
