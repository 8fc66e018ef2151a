"""Persons and households as pure decisions: given events, when a command, then events or error."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import pytest
from stdnum.cn import ric

from wangge.events import DomainEvent
from wangge.events.sealing import Sealed
from wangge.governance.erasure import ErasureGround
from wangge.registry.domain import households, persons
from wangge.registry.domain.households import HouseholdType, InvalidHousehold, Relationship
from wangge.registry.domain.identity import (
    InvalidPersonalData,
    Sex,
    mask_phone,
    normalise_phone,
    parse_identity_number,
)
from wangge.registry.domain.persons import (
    HukouType,
    InvalidPerson,
    PersonalDataErasedError,
    PersonalDetails,
    ResidenceStatus,
)

TODAY = date(2026, 11, 27)


def _number(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def _seal(block: Mapping[str, Any]) -> Sealed:
    return Sealed(key="k", nonce="n", ciphertext=str(sorted(block.items())))


def _fold(events: list[DomainEvent]) -> persons.Person:
    state = None
    for version, event in enumerate(events, 1):
        state = persons.evolve(state, event, version)
    assert state is not None
    return state


def _registered(**overrides: Any) -> list[DomainEvent]:
    identity = parse_identity_number(_number("32011119800101001"), today=TODAY)
    details = PersonalDetails(
        name="张三", identity_number=identity.number, birth_date=identity.birth_date
    )
    return persons.register(
        person_id=uuid.uuid4(),
        identity=identity,
        details=details,
        hukou_type=HukouType.LOCAL,
        residence_status=overrides.get("status", ResidenceStatus.RESIDENT),
        seal=_seal,
    )


def test_the_identity_number_gives_birth_date_and_sex() -> None:
    identity = parse_identity_number(_number("11010519491231002"), today=TODAY)
    assert identity.birth_date == date(1949, 12, 31)
    assert identity.sex == Sex.FEMALE  # 17th digit even
    assert identity.masked == "110105********" + identity.number[-4:]


def test_a_fifteen_digit_number_is_upgraded() -> None:
    assert parse_identity_number("110105491231002", today=TODAY).number == _number(
        "11010519491231002"
    )


def test_a_person_born_before_their_district_existed_is_accepted() -> None:
    # 320111 (浦口区) dates from 1983; cards issued later carry it for older residents
    assert parse_identity_number(_number("32011119400101001"), today=TODAY).birth_date.year == 1940


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("3201111980010100", "18 characters"),
        (_number("32011119800101001")[:-1] + "Y", "check digit"),
        (_number("32011119801301001"), "no real date"),
        (_number("99999919800101001"), "region code"),
        (_number("32011120990101001"), "cannot be right"),
    ],
)
def test_impossible_identity_numbers_are_refused(number: str, message: str) -> None:
    with pytest.raises(InvalidPersonalData, match=message) as refused:
        parse_identity_number(number, today=TODAY)
    assert refused.value.field == "identity_number"


def test_a_wrong_check_digit_is_refused() -> None:
    good = _number("32011119800101001")
    with pytest.raises(InvalidPersonalData, match="check digit"):
        parse_identity_number(good[:-1] + ("0" if good[-1] != "0" else "1"), today=TODAY)


def test_phones_are_normalised_and_masked() -> None:
    assert normalise_phone("138-1234-5678") == "+8613812345678"
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone(normalise_phone("025-83001234")) == "025****1234"
    with pytest.raises(InvalidPersonalData):
        normalise_phone("12345678901")


def test_a_registration_carries_masks_in_clear_and_details_sealed() -> None:
    (event,) = _registered()
    assert isinstance(event, persons.PersonRegistered)
    assert event.name_masked == "张*"
    assert event.birth_year == 1980 and event.sex == "male"
    assert "张三" not in event.model_dump_json(include={"name_masked", "identity_masked"})


def test_nobody_is_registered_as_moved_out() -> None:
    with pytest.raises(InvalidPerson):
        _registered(status=ResidenceStatus.MOVED_OUT)


def test_a_move_out_is_once_and_a_move_in_brings_them_back() -> None:
    person = _fold(_registered())
    out = persons.move_out(person, on=TODAY, whereabouts=None)
    person = _fold([*_registered(), *out])
    assert person.residence_status == ResidenceStatus.MOVED_OUT
    with pytest.raises(InvalidPerson):
        persons.move_out(person, on=TODAY, whereabouts=None)
    back = persons.move_in(person, dwelling_id=uuid.uuid4(), on=TODAY, origin=None)
    assert persons.evolve(person, back[0], 9).residence_status == ResidenceStatus.RESIDENT


def test_tags_are_known_and_periods_make_sense() -> None:
    person = _fold(_registered())
    with pytest.raises(InvalidPerson) as unknown:
        persons.tag(person, tag="rich", source="x", valid_from=TODAY, valid_until=None, today=TODAY)
    assert unknown.value.field == "tag"
    with pytest.raises(InvalidPerson):
        persons.tag(
            person, tag="veteran", source="x", valid_from=TODAY, valid_until=date(2020, 1, 1),
            today=TODAY,
        )  # fmt: skip

    def give(person: persons.Person, tag: str, until: date | None, today: date) -> list[Any]:
        return persons.tag(
            person, tag=tag, source="民政局", valid_from=TODAY, valid_until=until, today=today
        )

    person = persons.evolve(person, give(person, "veteran", None, TODAY)[0], 2)
    assert give(person, "veteran", None, TODAY) == []  # in force: nothing new
    person = persons.evolve(person, give(person, "subsistence_allowance", TODAY, TODAY)[0], 3)
    assert give(person, "subsistence_allowance", None, TODAY) == []  # its last day
    # the day after its last day it has lapsed: given again, it is a new period
    [again] = give(person, "subsistence_allowance", None, TODAY + timedelta(days=1))
    assert isinstance(again, persons.PersonTagged) and again.valid_until is None


def test_an_erased_person_cannot_be_changed_and_erasure_is_once() -> None:
    person = _fold(_registered())
    erased = persons.erase(person, ErasureGround.CONSENT_WITHDRAWN)
    person = persons.evolve(person, erased[0], 2)
    assert person.personal is None
    assert persons.erase(person, ErasureGround.CONSENT_WITHDRAWN) == []
    with pytest.raises(PersonalDataErasedError):
        persons.change_residence(person, ResidenceStatus.FLOATING, TODAY)


def test_a_merge_is_undone_only_when_merged() -> None:
    a, b = _fold(_registered()), _fold(_registered())
    with pytest.raises(InvalidPerson):
        persons.merge(a, a, today=TODAY)
    merged = persons.evolve(a, persons.merge(a, b, today=TODAY).duplicate[0], 2)
    assert merged.merged_into == b.person_id
    assert persons.unmerge(merged, b, today=TODAY).duplicate == [
        persons.PersonMergeUndone(person_id=a.person_id, from_person_id=b.person_id)
    ]
    with pytest.raises(InvalidPerson):
        persons.unmerge(a, None, today=TODAY)


def _run(person: persons.Person, events: list[DomainEvent]) -> persons.Person:
    for event in events:
        person = persons.evolve(person, event, person.version + 1)
    return person


def test_a_merge_gives_the_kept_record_only_what_it_lacks_and_an_unmerge_only_that() -> None:
    dwelling = uuid.uuid4()
    duplicate, kept = _fold(_registered()), _fold(_registered())
    for tag, until in (
        ("veteran", None),
        ("elderly_living_alone", None),
        ("subsistence_allowance", TODAY),
    ):
        duplicate = _run(duplicate, persons.tag(
            duplicate, tag=tag, source="民政", valid_from=date(2020, 1, 1), valid_until=until,
            today=TODAY,
        ))  # fmt: skip
    kept = _run(kept, persons.tag(
        kept, tag="elderly_living_alone", source="走访", valid_from=date(2021, 1, 1),
        valid_until=None, today=TODAY,
    ))  # fmt: skip
    duplicate = _run(duplicate, persons.relate(
        duplicate, dwelling_id=dwelling, relation=persons.DwellingRelation.OWNER,
        since=date(2019, 5, 1),
    ))  # fmt: skip
    later = TODAY + timedelta(days=1)  # subsistence_allowance lapsed the day before
    merging = persons.merge(duplicate, kept, today=later)
    [merged] = merging.duplicate
    assert isinstance(merged, persons.PersonMerged) and merged.moved_tags == ["veteran"]
    assert [type(e).__name__ for e in merging.kept] == ["PersonTagged", "PersonDwellingRelated"]
    assert {getattr(e, "source", None) for e in merging.kept} == {"民政", None}
    duplicate, kept = _run(duplicate, merging.duplicate), _run(kept, merging.kept)
    assert set(kept.tags) == {"elderly_living_alone", "veteran"} and len(kept.relations) == 1
    # the kept record's staff ended the tie meanwhile: only the tag is given back
    kept = _run(kept, persons.end_relation(
        kept, dwelling_id=dwelling, relation=persons.DwellingRelation.OWNER, on=later,
    ))  # fmt: skip
    undoing = persons.unmerge(duplicate, kept, today=later)
    assert [(type(e).__name__, getattr(e, "tag", None)) for e in undoing.kept] == [
        ("PersonUntagged", "veteran"),
    ]  # fmt: skip
    assert set(_run(kept, undoing.kept).tags) == {"elderly_living_alone"}


def _household(kind: HouseholdType = HouseholdType.FAMILY) -> households.Household:
    head = uuid.uuid4()
    events = households.register(
        household_id=uuid.uuid4(), number="1", type=kind, dwelling_id=uuid.uuid4(),
        head_person_id=head, on=TODAY,
    )  # fmt: skip
    state = None
    for version, event in enumerate(events, 1):
        state = households.evolve(state, event, version)
    assert state is not None
    return state


def test_a_household_starts_with_its_head_as_member() -> None:
    household = _household()
    assert household.members == {household.head_person_id: Relationship.HEAD}


def test_collective_households_have_collective_members_only() -> None:
    with pytest.raises(InvalidHousehold):
        households.join(
            _household(HouseholdType.COLLECTIVE), person_id=uuid.uuid4(),
            relationship=Relationship.CHILD, on=TODAY,
        )  # fmt: skip
    with pytest.raises(InvalidHousehold):
        households.join(
            _household(), person_id=uuid.uuid4(), relationship=Relationship.COLLECTIVE_MEMBER,
            on=TODAY,
        )  # fmt: skip


def test_the_head_leaves_last_or_after_handing_over() -> None:
    household = _household()
    child = uuid.uuid4()
    joined = households.join(household, person_id=child, relationship=Relationship.CHILD, on=TODAY)
    household = households.evolve(household, joined[0], 3)
    with pytest.raises(InvalidHousehold):
        households.leave(household, person_id=household.head_person_id, on=TODAY, reason="x")
    with pytest.raises(InvalidHousehold):
        households.change_head(household, person_id=child, former_head_relationship=None, on=TODAY)
    handed = households.change_head(
        household, person_id=child, former_head_relationship=Relationship.PARENT, on=TODAY
    )
    household = households.evolve(household, handed[0], 4)
    assert household.members[child] == Relationship.HEAD
    with pytest.raises(InvalidHousehold):
        households.leave(household, person_id=child, on=TODAY, reason="x")


def test_free_text_about_a_person_outside_sealed_blocks_keeps_only_its_redacted_copy() -> None:
    person = _fold(_registered())
    [tagged] = persons.tag(
        person, tag="veteran", source="退役军人事务局 025-8888-1234", valid_from=TODAY,
        valid_until=None, today=TODAY,
    )  # fmt: skip
    assert isinstance(tagged, persons.PersonTagged)
    assert tagged.source == "退役军人事务局 025****1234"
    person = persons.evolve(person, tagged, 2)
    [untagged] = persons.untag(person, tag="veteran", on=TODAY, reason="本人来电 13812345678")
    assert isinstance(untagged, persons.PersonUntagged)
    assert untagged.reason == "本人来电 138****5678"
    household = _household()
    child = uuid.uuid4()
    joined = households.join(household, person_id=child, relationship=Relationship.CHILD, on=TODAY)
    household = households.evolve(household, joined[0], 3)
    [left] = households.leave(household, person_id=child, on=TODAY, reason="外嫁, 新号13900001111")
    assert isinstance(left, households.HouseholdMemberLeft)
    assert left.reason == "外嫁, 新号139****1111"
