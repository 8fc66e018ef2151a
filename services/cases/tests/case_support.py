"""Cases built by their own decisions, for the tests of the rules that follow."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from wangge.cases.domain import cases, mediation
from wangge.events import DomainEvent

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TODAY = NOW.date()


def run(state: cases.Case, events: list[DomainEvent]) -> cases.Case:
    for event in events:
        state = cases.evolve(state, event, 0)
    return state


def opened(kind: cases.CaseKind = cases.CaseKind.DISPUTE) -> cases.Case:
    event = cases.open_case(
        case_id=uuid.uuid4(), kind=kind, source=cases.Source.WALK_IN, title="t", description="",
        grid_id=uuid.uuid4(), now=NOW,
    )  # fmt: skip
    case = cases.evolve(None, event, 1)
    case = run(case, cases.assign(case, worker_id=uuid.uuid4(), account="w", reason="grid"))
    return run(case, cases.accept(case, account="w"))


def with_parties(case: cases.Case) -> tuple[cases.Case, list[uuid.UUID]]:
    ids = [uuid.uuid4(), uuid.uuid4()]
    for party, role in zip(ids, ("applicant", "respondent"), strict=True):
        case = run(
            case,
            mediation.join_party(
                case, party_id=party, role=role, name_masked="王**", resident=f"p-{party}",  # type: ignore[arg-type]
                outside=None,
            ),
        )  # fmt: skip
    case = run(case, mediation.appoint_mediator(case, mediator="刘", organisation=""))
    return case, ids


def held(case: cases.Case, parties: list[uuid.UUID]) -> cases.Case:
    """The case after one session that ``parties`` attended and signed."""
    return run(
        case,
        mediation.hold_session(
            case, session_id=uuid.uuid4(), held_at=NOW, place="室", attendees=parties,
            mediators=["刘"], summary="s", signed_by=parties, now=NOW, seal=None,
        ),
    )  # fmt: skip
