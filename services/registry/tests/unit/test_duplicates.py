"""The likely-duplicate rule: who is paired, with what score and why."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from wangge.registry.projections.duplicates import pairs

HOME, ELSEWHERE, FAMILY = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def person(name: str, *, sex: str = "male", born: int = 1980, dwelling: uuid.UUID | None = HOME,
           household: uuid.UUID | None = None) -> Any:  # fmt: skip
    return SimpleNamespace(
        person_id=uuid.uuid4(), name=name, sex=sex, birth_year=born, dwelling_id=dwelling,
        household_id=household,
    )  # fmt: skip


def test_the_same_name_sex_and_birth_year_pair_wherever_they_live() -> None:
    a, b = person("王伟"), person("王伟", dwelling=ELSEWHERE)
    [pair] = pairs([a, b])
    assert {pair.person_id, pair.other_person_id} == {a.person_id, b.person_id}
    assert (pair.score, pair.reasons) == (0.7, ("same sex and birth year", "same name"))
    # the lower id first, so a pair has one spelling whichever way it was found
    assert str(pair.person_id) < str(pair.other_person_id)


def test_a_name_one_character_apart_pairs_only_with_a_shared_dwelling_or_household() -> None:
    assert list(pairs([person("张伟"), person("张玮", dwelling=ELSEWHERE)])) == []
    [pair] = pairs([person("张伟", household=FAMILY), person("张玮", household=FAMILY)])
    assert pair.score == 0.75
    assert pair.reasons[1:] == ("name one character apart", "same dwelling", "same household")
    assert list(pairs([person("张伟"), person("李小伟")])) == []


def test_sex_and_birth_year_block_the_comparison() -> None:
    assert list(pairs([person("王伟"), person("王伟", born=1981)])) == []
    assert list(pairs([person("王伟"), person("王伟", sex="female")])) == []
    three = [person("王伟"), person("王伟"), person("王伟", dwelling=None)]
    assert len(list(pairs(three))) == 3
