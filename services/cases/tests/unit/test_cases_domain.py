"""A case's rules and a dispute's mediation, as pure decisions."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from wangge.cases.domain import cases, mediation

from case_support import NOW, TODAY, held, opened, run, with_parties


def test_a_dispute_gets_a_month_and_an_assistance_case_names_its_help() -> None:
    event = cases.open_case(
        case_id=uuid.uuid4(), kind=cases.CaseKind.DISPUTE, source=cases.Source.VISIT,
        title="t", description="", grid_id=None, now=NOW,
    )  # fmt: skip
    assert event.deadline == NOW + timedelta(days=30)
    with pytest.raises(cases.InvalidCase):
        cases.open_case(
            case_id=uuid.uuid4(), kind=cases.CaseKind.ASSISTANCE, source=cases.Source.VISIT,
            title="t", description="", grid_id=None, now=NOW,
        )  # fmt: skip


def test_only_the_responsible_worker_accepts_and_a_hazard_is_not_mediated() -> None:
    event = cases.open_case(
        case_id=uuid.uuid4(), kind=cases.CaseKind.HAZARD, source=cases.Source.VISIT,
        title="t", description="", grid_id=None, now=NOW,
    )  # fmt: skip
    case = cases.evolve(None, event, 1)
    case = run(case, cases.assign(case, worker_id=uuid.uuid4(), account="w", reason="grid"))
    with pytest.raises(cases.WrongStatus):
        cases.accept(case, account="someone else")
    with pytest.raises(cases.InvalidCase):
        mediation.appoint_mediator(case, mediator="刘", organisation="")


def test_an_agreement_needs_a_session_and_every_partys_signature() -> None:
    case, parties = with_parties(opened())
    with pytest.raises(cases.InvalidCase):
        mediation.sign_agreement(
            case, agreement_id=uuid.uuid4(), signed_by=parties, facts="f", dispute="d",
            responsibilities="r", terms="t", performance="p", perform_by=TODAY, signed_on=TODAY,
        seal=None,
        )  # fmt: skip
    case = held(case, parties)
    with pytest.raises(cases.InvalidCase):
        mediation.sign_agreement(
            case, agreement_id=uuid.uuid4(), signed_by=parties[:1], facts="f", dispute="d",
            responsibilities="r", terms="t", performance="p", perform_by=TODAY, signed_on=TODAY,
        seal=None,
        )  # fmt: skip
    [signed] = mediation.sign_agreement(
        case, agreement_id=uuid.uuid4(), signed_by=parties, facts="f", dispute="d",
        responsibilities="r", terms="t", performance="p", perform_by=TODAY, signed_on=TODAY,
        seal=None,
    )  # fmt: skip
    assert isinstance(signed, cases.MediationAgreementSigned)
    assert signed.confirmation_deadline == TODAY + timedelta(days=30)
    case = run(case, [signed])
    with pytest.raises(cases.WrongStatus):
        mediation.hold_session(
            case, session_id=uuid.uuid4(), held_at=NOW, place="室", attendees=parties,
            mediators=["刘"], summary="s", signed_by=parties, now=NOW, seal=None,
        )  # fmt: skip


def test_a_dispute_is_solved_only_by_an_agreement_but_may_end_unsolved() -> None:
    case = opened()
    with pytest.raises(cases.InvalidCase):
        cases.resolve(case, resolution="r", solved=True, at_source=True, seal=None)
    [resolved] = cases.resolve(
        case, resolution="调解不成 告知诉讼途径", solved=False, at_source=True, seal=None
    )
    assert isinstance(resolved, cases.CaseResolved)


def test_a_session_attended_by_a_stranger_or_held_tomorrow_is_refused() -> None:
    case, parties = with_parties(opened())
    with pytest.raises(cases.InvalidCase):
        mediation.hold_session(
            case, session_id=uuid.uuid4(), held_at=NOW, place="室",
            attendees=[*parties, uuid.uuid4()], mediators=["刘"], summary="s", signed_by=[],
            now=NOW, seal=None,
        )  # fmt: skip
    with pytest.raises(cases.InvalidCase):
        mediation.hold_session(
            case, session_id=uuid.uuid4(), held_at=NOW + timedelta(days=1), place="室",
            attendees=parties, mediators=["刘"], summary="s", signed_by=parties, now=NOW, seal=None,
        )  # fmt: skip
