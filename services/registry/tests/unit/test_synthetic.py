"""The synthetic subdistrict: deterministic, well-formed, and shaped like a real register."""

from __future__ import annotations

import csv
import itertools
import json
import re
import types
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from stdnum.cn import ric, uscc

from wangge.registry.synthetic import (
    CENSUS_COLUMNS,
    ORGANISATION_KINDS,
    REFERENCE_DATE,
    RELATIONSHIPS,
    RESIDENCE_STATUSES,
    SIZES,
    TAGS,
    THING_KINDS,
    Generator,
    Organisation,
    Size,
    Thing,
    write_csv,
    write_jsonl,
)

Row = dict[str, str]

# how many generations above the head each relationship is
GENERATION = {"parent": 1, "head": 0, "spouse": 0, "sibling": 0, "child": -1, "grandchild": -2}


@pytest.fixture(scope="module")
def small() -> Generator:
    return Generator(size="small")


@pytest.fixture(scope="module")
def rows(small: Generator) -> list[Row]:
    return list(small.residents())


@pytest.fixture(scope="module")
def organisations(small: Generator) -> list[Organisation]:
    return list(small.organisations())


def households(rows: list[Row]) -> list[list[Row]]:
    return [
        list(group) for _, group in itertools.groupby(rows, key=lambda r: r["household_number"])
    ]


def birth(row: Row) -> date:
    return ric.get_birth_date(row["identity_number"])


def is_male(row: Row) -> bool:
    return int(row["identity_number"][16]) % 2 == 1


def age(row: Row) -> int:
    return years_between(birth(row), REFERENCE_DATE)


def years_between(older: date, younger: date) -> int:
    return younger.year - older.year - ((younger.month, younger.day) < (older.month, older.day))


def test_the_same_seed_gives_the_same_subdistrict() -> None:
    assert (
        Generator(seed=7, size="tiny").subdistrict() == Generator(seed=7, size="tiny").subdistrict()
    )


def test_the_same_seed_gives_the_same_residents_organisations_and_things() -> None:
    first, second = Generator(seed=7, size="tiny"), Generator(seed=7, size="tiny")
    assert list(first.residents()) == list(second.residents())
    assert list(first.organisations()) == list(second.organisations())
    assert list(first.things()) == list(second.things())


def test_different_seeds_give_different_residents() -> None:
    first = list(Generator(seed=1, size="tiny").residents())
    second = list(Generator(seed=2, size="tiny").residents())
    assert first != second
    assert {r["identity_number"] for r in first}.isdisjoint(r["identity_number"] for r in second)


def test_residents_stream_lazily_and_replay_the_same_rows(
    small: Generator, rows: list[Row]
) -> None:
    stream = small.residents()
    assert isinstance(stream, types.GeneratorType)
    assert next(stream) == rows[0]
    assert list(small.residents()) == rows


def test_tiny_has_the_preset_counts() -> None:
    generator = Generator(size="tiny")
    subdistrict = generator.subdistrict()
    assert (len(subdistrict.communities), len(subdistrict.grids)) == (2, 4)
    assert len({r["household_number"] for r in generator.residents()}) == SIZES["tiny"].households


def test_grids_belong_to_their_communities_and_codes_have_the_right_shapes(
    small: Generator,
) -> None:
    subdistrict = small.subdistrict()
    assert (subdistrict.code, subdistrict.name) == ("320111001", "沿江街道")
    assert [c.code for c in subdistrict.communities] == [
        "320111001-001",
        "320111001-002",
        "320111001-003",
    ]
    assert len({c.name for c in subdistrict.communities}) == 3
    assert all(re.fullmatch(r"\w{2,}社区", c.name) for c in subdistrict.communities)
    names = {c.code: c.name for c in subdistrict.communities}
    for grid in subdistrict.grids:
        assert re.fullmatch(r"320111001-\d{3}-\d{3}", grid.code)
        community, number = grid.code.rsplit("-", 1)
        assert grid.name == f"{names[community]}第{int(number)}网格"


def test_grids_are_spread_evenly_over_communities() -> None:
    subdistrict = Generator(size=Size(3, 10, 50)).subdistrict()
    per_community = Counter(grid.code.rsplit("-", 1)[0] for grid in subdistrict.grids)
    assert sorted(per_community.values()) == [3, 3, 4]
    for code, count in per_community.items():
        assert [g.code for g in subdistrict.grids if g.code.startswith(code)] == [
            f"{code}-{n:03d}" for n in range(1, count + 1)
        ]


def test_an_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="huge"):
        Generator(size="huge")


def test_rows_have_exactly_the_census_columns_as_strings(rows: list[Row]) -> None:
    for row in rows:
        assert tuple(row) == CENSUS_COLUMNS
        assert all(isinstance(value, str) for value in row.values())


def test_values_come_from_the_glossary(rows: list[Row]) -> None:
    for row in rows:
        assert row["relationship"] in RELATIONSHIPS
        assert row["residence_status"] in RESIDENCE_STATUSES
        assert row["hukou_type"] in {"local", "non_local"}
        assert row["household_type"] in {"family", "collective"}
        assert row["dwelling_usage"] in {"owner_occupied", "rented", "business"}
        assert set(filter(None, row["tags"].split(";"))) <= set(TAGS)
        assert row["ethnicity"].endswith("族")
        for column in ("moved_in_on", "moved_out_on"):
            assert row[column] == "" or date.fromisoformat(row[column]) <= REFERENCE_DATE


def test_each_household_is_consecutive_with_exactly_one_head_first(rows: list[Row]) -> None:
    groups = households(rows)
    assert len(groups) == len({r["household_number"] for r in rows}) == 600
    for group in groups:
        assert group[0]["relationship"] == "head"
        assert [r["relationship"] for r in group].count("head") == 1


def test_households_have_unique_numbers_and_one_dwelling_each(rows: list[Row]) -> None:
    dwellings: list[tuple[str, str, str, str]] = []
    for group in households(rows):
        places = {
            (r["grid_code"], r["building_number"], r["unit_number"], r["dwelling_number"])
            for r in group
        }
        assert len(places) == 1
        dwellings.extend(places)
        number = group[0]["household_number"]
        assert re.fullmatch(r"320111001\d{6}", number)
    assert len(dwellings) == len(set(dwellings))


def test_places_have_the_register_shapes(small: Generator, rows: list[Row]) -> None:
    grids = {grid.code for grid in small.subdistrict().grids}
    for row in rows:
        assert row["grid_code"] in grids
        assert re.fullmatch(r"\d+栋", row["building_number"])
        assert re.fullmatch(r"(\d单元)?", row["unit_number"])
        assert re.fullmatch(r"\d{1,2}0\d", row["dwelling_number"])


def test_identity_numbers_are_valid_and_unique(rows: list[Row]) -> None:
    numbers = [r["identity_number"] for r in rows]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert ric.validate(number) == number


def test_spouses_are_of_the_other_sex(rows: list[Row]) -> None:
    for group in households(rows):
        for row in group:
            if row["relationship"] == "spouse":
                assert is_male(row) != is_male(group[0])


def test_elders_are_at_least_15_years_older_than_their_descendants(rows: list[Row]) -> None:
    families = [g for g in households(rows) if g[0]["household_type"] == "family"]
    for group in families:
        related = [r for r in group if r["relationship"] in GENERATION]
        for elder, younger in itertools.permutations(related, 2):
            if GENERATION[elder["relationship"]] > GENERATION[younger["relationship"]]:
                assert years_between(birth(elder), birth(younger)) >= 15


def test_heads_are_adults(rows: list[Row]) -> None:
    assert all(age(r) >= 18 for r in rows if r["relationship"] == "head")


def test_collective_households_are_a_head_and_collective_members(rows: list[Row]) -> None:
    collectives = [g for g in households(rows) if g[0]["household_type"] == "collective"]
    assert collectives
    for group in collectives:
        assert {r["relationship"] for r in group[1:]} == {"collective_member"}


def test_phones_are_mobile_numbers_and_children_under_14_have_none(rows: list[Row]) -> None:
    for row in rows:
        if age(row) < 14:
            assert row["phone"] == ""
        elif row["phone"]:
            assert re.fullmatch(r"1[3-9]\d{9}", row["phone"])


def test_floating_people_have_a_non_local_hukou_and_moved_in(rows: list[Row]) -> None:
    floating = [r for r in rows if r["residence_status"] == "floating"]
    assert 0.1 < len(floating) / len(rows) < 0.25
    for row in floating:
        assert row["hukou_type"] == "non_local"
        assert row["moved_in_on"] and row["moved_in_from"]
        assert date.fromisoformat(row["moved_in_on"]) >= birth(row)


def test_people_who_moved_out_say_when_and_where(rows: list[Row]) -> None:
    moved_out = [r for r in rows if r["residence_status"] == "moved_out"]
    assert moved_out
    for row in moved_out:
        assert row["moved_out_on"] and row["whereabouts"]
    assert all(not r["moved_out_on"] for r in rows if r["residence_status"] != "moved_out")


def test_special_tags_fit_the_people_they_are_on(rows: list[Row]) -> None:
    sizes = Counter(r["household_number"] for r in rows)
    tagged = [r for r in rows if r["tags"]]
    assert 0 < len(tagged) / len(rows) < 0.1
    for row in tagged:
        tags = row["tags"].split(";")
        assert list(tags) == [tag for tag in TAGS if tag in tags]
        if "elderly_living_alone" in tags:
            assert age(row) >= 70
            assert sizes[row["household_number"]] == 1
        if "left_behind_child" in tags:
            assert age(row) < 18


def test_organisations_have_valid_unique_credit_codes(
    small: Generator, organisations: list[Organisation]
) -> None:
    assert 3 <= len(organisations) <= 12  # about one per 100 households
    codes = [o.uscc for o in organisations]
    assert len(set(codes)) == len(codes)
    grids = {grid.code for grid in small.subdistrict().grids}
    for organisation in organisations:
        assert uscc.validate(organisation.uscc) == organisation.uscc
        assert organisation.uscc[2:8] == "320111"
        assert organisation.kind in ORGANISATION_KINDS
        assert organisation.grid_code in grids
        assert organisation.name and organisation.address.startswith("沿江街道")
        assert re.fullmatch(r"1[3-9]\d{9}", organisation.contact_phone)


def test_things_sit_at_buildings_and_name_organisations_of_their_grid(
    small: Generator, organisations: list[Organisation]
) -> None:
    things: list[Thing] = list(small.things())
    assert things
    grid_of = {o.uscc: o.grid_code for o in organisations}
    for thing in things:
        assert thing.kind in THING_KINDS
        assert re.fullmatch(r"\d+栋", thing.building_number)
        assert thing.name.startswith(thing.building_number) and thing.description
        if thing.responsible_uscc is not None:
            assert grid_of[thing.responsible_uscc] == thing.grid_code


def test_write_csv_round_trips(tmp_path: Path, rows: list[Row]) -> None:
    path = tmp_path / "census.csv"
    assert write_csv(iter(rows), path) == len(rows)
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        assert tuple(reader.fieldnames or ()) == CENSUS_COLUMNS
        assert list(reader) == rows


def test_write_jsonl_round_trips(tmp_path: Path, rows: list[Row]) -> None:
    path = tmp_path / "census.jsonl"
    assert write_jsonl(iter(rows), path) == len(rows)
    text = path.read_text(encoding="utf-8")
    assert [json.loads(line) for line in text.splitlines()] == rows
    assert "\\u" not in text  # Chinese stays readable (ensure_ascii=False)
