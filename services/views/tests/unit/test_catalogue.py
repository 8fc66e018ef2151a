"""The department catalogue: which facts reach which department, restricted tags to one only."""

from __future__ import annotations

from pathlib import Path

import pytest

from wangge.views.domain.catalogue import CatalogueError, load, parse
from wangge.views.domain.feeds import Fact

BASE = """
[departments.health]
title = "卫健"
facts = ["person_tagged", "care_visit_missed"]
tags = ["severe_mental_disorder"]
care_kinds = ["health_check"]

[departments.civil_affairs]
title = "民政"
facts = ["person_tagged", "care_plan_started"]
tags = ["elderly_living_alone"]
care_kinds = ["health_check", "companionship"]

[restricted_tags]
severe_mental_disorder = "health"
community_correction = "health"
key_youth = "health"
released_prisoner = "health"
drug_rehabilitation = "health"
"""


def test_the_shipped_catalogue_gives_each_restricted_tag_to_its_one_department() -> None:
    shipped = load()
    assert shipped.recipients(Fact("person_tagged", tag="severe_mental_disorder")) == ["health"]
    assert shipped.recipients(Fact("person_untagged", tag="community_correction")) == ["justice"]
    assert shipped.recipients(Fact("person_tagged", tag="drug_rehabilitation")) == ["police"]
    assert shipped.recipients(Fact("person_tagged", tag="elderly_living_alone")) == [
        "civil_affairs"
    ]


def test_facts_are_routed_by_kind_care_kind_and_ticket_category() -> None:
    shipped = load()
    assert shipped.recipients(Fact("care_visit_missed", care_kind="health_check")) == [
        "civil_affairs", "health",
    ]  # fmt: skip
    assert shipped.recipients(Fact("care_visit_missed", care_kind="companionship")) == [
        "civil_affairs"
    ]
    assert shipped.recipients(Fact("ticket_routed", category="0305")) == ["urban_management"]
    assert shipped.recipients(Fact("ticket_routed", category="0201")) == []
    assert shipped.recipients(Fact("mediation_agreement_signed")) == ["justice"]
    assert shipped.recipients(Fact("floating_moved_in")) == ["police"]
    assert shipped.recipients(Fact("person_tagged", tag="veteran")) == ["civil_affairs"]
    assert shipped.recipients(Fact("person_tagged", tag="unheard_of")) == []


def test_a_department_listing_another_departments_restricted_tag_is_refused_by_name() -> None:
    text = BASE.replace('tags = ["elderly_living_alone"]', 'tags = ["severe_mental_disorder"]')
    with pytest.raises(CatalogueError, match=r"departments\.civil_affairs\.tags.*'health'"):
        parse(text)


def test_a_restricted_tag_the_file_forgets_is_refused() -> None:
    text = BASE.replace('key_youth = "health"\n', "")
    with pytest.raises(CatalogueError, match=r"restricted_tags.*key_youth"):
        parse(text)


def test_a_restricted_tag_given_to_no_such_department_is_refused() -> None:
    with pytest.raises(CatalogueError, match=r"restricted_tags\.key_youth: no department 'x'"):
        parse(BASE.replace('key_youth = "health"', 'key_youth = "x"'))


def test_an_unknown_fact_is_refused_naming_its_department() -> None:
    text = BASE.replace('"care_plan_started"]', '"care_plan_started", "gossip"]')
    with pytest.raises(
        CatalogueError, match=r"departments\.civil_affairs: unknown facts \['gossip'\]"
    ):
        parse(text)


def test_routed_facts_without_their_routes_are_refused() -> None:
    text = BASE.replace('care_kinds = ["health_check", "companionship"]\n', "")
    with pytest.raises(CatalogueError, match=r"departments\.civil_affairs: .*care_kinds"):
        parse(text)


def test_an_unknown_key_and_text_that_is_no_toml_are_refused() -> None:
    with pytest.raises(CatalogueError, match=r"departments\.health\.colour"):
        parse(BASE.replace('title = "卫健"', 'title = "卫健"\ncolour = "red"'))
    with pytest.raises(CatalogueError, match="no TOML"):
        parse("[departments.health\n")


def test_a_file_names_itself_in_its_error(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text("[restricted_tags]\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"feeds\.toml: departments"):
        load(path)


def test_the_digest_follows_the_file() -> None:
    assert parse(BASE).digest != parse(BASE + "\n# a comment\n").digest
