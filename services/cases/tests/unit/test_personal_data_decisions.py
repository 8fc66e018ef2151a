"""Personal data as the cases service's decisions keep it: free text sealed beside its redacted
copy (and only redacted when it came from another service or its key was erased), events from
before the rule read as they were, and the erasure of outside parties, care plans and residents
the registry erased."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from wangge.cases.domain import care, cases, erasure, mediation, upstream
from wangge.cases.domain.text import NamingSeal, written
from wangge.cases.personal_data import opened
from wangge.events import DomainEvent
from wangge.events.sealing import KeyRing
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import NotFound

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PHONE = "13812345678"
GROUND = ErasureGround.CONSENT_WITHDRAWN


def run(state: cases.Case | None, events: list[DomainEvent]) -> cases.Case:
    for event in events:
        state = cases.evolve(state, event, 0)
    assert state is not None
    return state


def test_a_cases_text_is_sealed_whole_and_kept_in_clear_only_redacted() -> None:
    case_id, key = uuid.uuid4(), KeyRing.generate()
    event = cases.open_case(
        case_id=case_id, kind=cases.CaseKind.HAZARD, source=cases.Source.WALK_IN,
        title=f"王五 {PHONE}", description=f"王五家门口堆物 电话 +86 {PHONE}",
        grid_id=uuid.uuid4(), now=NOW, seal=KeyRing.sealer(key, case_id),
    )  # fmt: skip
    assert (event.title, event.description) == (
        "王五 138****5678",
        "王五家门口堆物 电话 138****5678",
    )
    assert PHONE not in event.model_dump_json()
    full = opened(key, event)
    assert isinstance(full, cases.CaseOpened)
    assert full.description == f"王五家门口堆物 电话 +86 {PHONE}"
    assert opened(None, event) == event  # erased: the redacted copy
    assert opened(KeyRing.generate(), event) == event  # another key opens nothing


def test_an_event_from_before_the_rule_reads_as_it_was_written() -> None:
    old = cases.CaseProgressNoted.model_validate(
        {"case_id": str(uuid.uuid4()), "note": f"已联系 {PHONE}"}
    )
    assert old.sealed_text is None
    assert opened(KeyRing.generate(), old) == old


def test_a_redacted_copy_longer_than_the_field_is_cut_never_refused() -> None:
    text = "a@b.cn " * 600  # 4200 characters; each mask is longer than what it masks
    fields = written(cases.CaseProgressNoted, None, note=text[:4000])
    assert len(fields["note"]) == 4000 and fields["sealed_text"] is None
    assert "a***@b.cn" in fields["note"]


def test_text_without_a_key_is_kept_only_as_its_redacted_copy() -> None:
    case = _accepted()
    [noted] = cases.note_progress(case, f"再联系 {PHONE}", seal=None)
    assert isinstance(noted, cases.CaseProgressNoted)
    assert (noted.note, noted.sealed_text) == ("再联系 138****5678", None)


def test_the_hotlines_text_enters_a_case_redacted_again_and_never_sealed_here() -> None:
    brief = upstream.TicketBrief(
        ticket_number="2026112700001", title=f"噪声扰民: 12栋 {PHONE}",
        content=f"来电人 {PHONE} 反映楼上噪声", deadline=NOW + timedelta(days=1),
    )  # fmt: skip
    [opened_case] = upstream.ticket_routed(
        None, case_id=uuid.uuid4(), ticket_id=uuid.uuid4(), grid_id=uuid.uuid4(), brief=brief,
        worker=None,
    )  # fmt: skip
    assert isinstance(opened_case, cases.CaseOpened)
    assert opened_case.title == "2026112700001 噪声扰民: 12栋 138****5678"  # its number stays
    assert opened_case.description == "来电人 138****5678 反映楼上噪声"
    assert opened_case.sealed_text is None
    case = run(None, [opened_case])
    [followed] = upstream.ticket_followed_up(case, satisfied=False, note=f"请回电 {PHONE}")
    [returned] = upstream.ticket_returned(case, reason=f"非本辖区 来电 {PHONE}")
    for event in (followed, returned):
        assert PHONE not in event.model_dump_json()


def _accepted() -> cases.Case:
    event = cases.open_case(
        case_id=uuid.uuid4(), kind=cases.CaseKind.DISPUTE, source=cases.Source.WALK_IN,
        title="t", description="", grid_id=uuid.uuid4(), now=NOW,
    )  # fmt: skip
    case = run(None, [event])
    case = run(case, cases.assign(case, worker_id=uuid.uuid4(), account="w", reason="grid"))
    return run(case, cases.accept(case, account="w"))


def _joined(case: cases.Case, *, resident: str | None) -> tuple[cases.Case, uuid.UUID]:
    party_id = uuid.uuid4()
    outside = None
    if resident is None:
        outside = KeyRing.sealer(KeyRing.generate(), party_id)({"name": "赵六"})
    joined = mediation.join_party(
        case, party_id=party_id, role="respondent", name_masked="赵*", resident=resident,
        outside=outside,
    )  # fmt: skip
    return run(case, joined), party_id


def test_an_outside_party_is_erased_once_whatever_the_cases_status() -> None:
    case, party = _joined(_accepted(), resident=None)
    case = run(case, cases.resolve(case, resolution="r", solved=False, at_source=True, seal=None))
    [erased] = mediation.erase_party(case, party_id=party, ground=GROUND)
    assert isinstance(erased, cases.PartyErased) and erased.legal_ground == GROUND
    assert mediation.erase_party(run(case, [erased]), party_id=party, ground=GROUND) == []


def test_a_resident_party_is_the_registrys_to_erase_and_a_stranger_no_party() -> None:
    case, party = _joined(_accepted(), resident=str(uuid.uuid4()))
    with pytest.raises(mediation.ResidentParty):
        mediation.erase_party(case, party_id=party, ground=GROUND)
    with pytest.raises(NotFound):
        mediation.erase_party(case, party_id=uuid.uuid4(), ground=GROUND)


def _plan() -> care.Plan:
    plan_id = uuid.uuid4()
    [started] = care.start(
        plan_id=plan_id, resident="p", resident_masked="李*", grid_id=uuid.uuid4(),
        kind=care.CareKind.HEALTH_CHECK, every_days=7, worker_account="w",
        starts_on=date(2026, 11, 1), note=f"女儿 {PHONE}",
        seal=KeyRing.sealer(KeyRing.generate(), plan_id),
    )  # fmt: skip
    assert isinstance(started, care.CarePlanStarted) and started.note == "女儿 138****5678"
    return care.evolve(None, started, 1)


def test_a_visits_measurements_and_note_are_sealed_with_the_plans_key() -> None:
    plan, key = _plan(), KeyRing.generate()
    [visit] = care.record_visit(
        plan, visit_id=uuid.uuid4(), visited_on=date(2026, 11, 20), today=date(2026, 11, 27),
        by="w", note=f"已告知 {PHONE}", measurements={"systolic": 150},
        seal=KeyRing.sealer(key, plan.plan_id),
    )  # fmt: skip
    assert isinstance(visit, care.CareVisitRecorded) and visit.measurements is not None
    assert KeyRing.unseal(key, visit.measurements) == {"systolic": 150}
    # the measurement is nowhere in the clear (ids and ciphertext aside: a uuid may hold "150")
    sealed = {"measurements", "sealed_text"}
    clear = visit.model_dump(mode="json", exclude={"plan_id", "visit_id", *sealed})
    assert PHONE not in str(clear) and "150" not in str(clear)
    assert "systolic" not in visit.model_dump_json()


def test_a_plan_whose_data_was_erased_takes_no_measurement_and_is_erased_once() -> None:
    plan = _plan()
    [erased] = care.erase(plan, ground=GROUND)
    plan = care.evolve(plan, erased, 2)
    assert care.erase(plan, ground=GROUND) == []
    with pytest.raises(cases.WrongStatus):
        care.record_visit(
            plan, visit_id=uuid.uuid4(), visited_on=date(2026, 11, 20),
            today=date(2026, 11, 27), by="w", note="", measurements={"systolic": 150},
            seal=None,
        )  # fmt: skip
    [visit] = care.record_visit(
        plan, visit_id=uuid.uuid4(), visited_on=date(2026, 11, 20), today=date(2026, 11, 27),
        by="w", note=f"陪聊 {PHONE}", measurements=None, seal=None,
    )  # fmt: skip
    assert isinstance(visit, care.CareVisitRecorded)
    assert (visit.note, visit.sealed_text) == ("陪聊 138****5678", None)


def test_a_registry_erasure_is_recorded_once_with_whatever_ground_it_came_with() -> None:
    person, plan, case = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    [record] = erasure.follow(
        None, person_id=person, legal_ground="a_ground_added_later", care_plans=[plan],
        cases=[case],
    )  # fmt: skip
    assert isinstance(record, erasure.ResidentDataErased)
    assert (record.care_plans, record.cases) == ([plan], [case])
    followed = erasure.evolve(None, record, 1)
    again = erasure.follow(
        followed, person_id=person, legal_ground="purpose_achieved", care_plans=[], cases=[]
    )
    assert again == []


def test_a_case_keeps_its_outside_parties_sealed_names_and_its_texts_mask_them() -> None:
    case, party_id = _joined(_accepted(), resident=None)
    assert [party for party, _ in case.outside] == [party_id]
    key = KeyRing.generate()
    seal = NamingSeal(KeyRing.sealer(key, case.case_id), ["赵六"])
    [noted] = cases.note_progress(case, f"赵六同意赔偿，电话{PHONE}", seal=seal)
    assert isinstance(noted, cases.CaseProgressNoted)
    assert noted.note == f"赵*同意赔偿，电话{PHONE[:3]}****{PHONE[-4:]}"
    assert noted.sealed_text is not None
    assert KeyRing.unseal(key, noted.sealed_text) == {"note": f"赵六同意赔偿，电话{PHONE}"}
