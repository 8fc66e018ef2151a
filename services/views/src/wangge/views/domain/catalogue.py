"""The department catalogue (部门数据目录): which facts go to which department's feed.

It is a file, not code (``feeds.toml`` beside this package; a deployment names its own with
``WANGGE_FEEDS_CATALOGUE``): each department lists the kinds of fact it is entitled to, and the
tags, care-plan kinds and ticket categories that route them. Restricted tags (health and justice
data: a severe mental disorder, community correction...) are named once, each with the one
department that may receive it; a department that lists a restricted tag it is not named for,
or a restricted tag the file forgets, is a mistake the service refuses to start with, since the
registry publishes those tags in clear on its topic and only this file keeps them apart.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from wangge.views.domain.feeds import CARE_FACTS, FACTS, PERSON_FACTS, TICKET_FACTS, Fact

DEFAULT_CATALOGUE = Path(__file__).parent.parent / "feeds.toml"

REGISTRY_RESTRICTED = frozenset(
    {"community_correction", "severe_mental_disorder", "key_youth", "released_prisoner",
     "drug_rehabilitation"}
)  # fmt: skip
"""The registry's restricted tags (``RESTRICTED_TAGS`` in its persons domain, read here, never
imported): each must be given to exactly one department by the catalogue, so a file that forgets
one cannot send it to everyone who follows tags."""

_NAME = re.compile(r"^[a-z][a-z_]{1,39}$")


class CatalogueError(ValueError):
    """A catalogue file the service refuses, naming the entry at fault."""


class Department(BaseModel):
    """One department's entitlement."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=40, description="its Chinese name: 民政")
    facts: frozenset[str] = Field(min_length=1)
    tags: frozenset[str] = frozenset()
    care_kinds: frozenset[str] = frozenset()
    ticket_categories: frozenset[str] = frozenset()

    @model_validator(mode="after")
    def _routable(self) -> Self:
        unknown = sorted(self.facts - FACTS)
        if unknown:
            raise ValueError(f"unknown facts {unknown}; known: {sorted(FACTS)}")
        for facts, routes, what in (
            (PERSON_FACTS, self.tags, "tags"),
            (CARE_FACTS, self.care_kinds, "care_kinds"),
            (TICKET_FACTS, self.ticket_categories, "ticket_categories"),
        ):
            if self.facts & facts and not routes:
                raise ValueError(f"{sorted(self.facts & facts)} need {what} to route them")
        return self


class DepartmentCatalogue(BaseModel):
    """Every department's entitlement and the restricted tags' one recipient each."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    departments: Mapping[str, Department] = Field(min_length=1)
    restricted_tags: Mapping[str, str] = Field(
        description="each restricted tag -> the one department that may receive it"
    )
    digest: str = Field(default="", description="the file's sha256: a new file rebuilds the feeds")

    @model_validator(mode="after")
    def _restricted_kept_apart(self) -> Self:
        for name in self.departments:
            if not _NAME.match(name):
                raise ValueError(f"departments.{name}: a name is lower case letters and _")
        forgotten = sorted(REGISTRY_RESTRICTED - set(self.restricted_tags))
        if forgotten:
            raise ValueError(f"restricted_tags: names no department for {forgotten}")
        for tag, owner in self.restricted_tags.items():
            if owner not in self.departments:
                raise ValueError(f"restricted_tags.{tag}: no department {owner!r}")
        for name, department in self.departments.items():
            for tag in sorted(department.tags):
                only = self.restricted_tags.get(tag)
                if only is not None and only != name:
                    raise ValueError(f"departments.{name}.tags: {tag!r} is restricted to {only!r}")
        return self

    def recipients(self, fact: Fact) -> list[str]:
        """The departments a fact goes to, in name order (none: no department is entitled)."""
        return [name for name, department in sorted(self.departments.items())
                if self._entitled(name, department, fact)]  # fmt: skip

    def _entitled(self, name: str, department: Department, fact: Fact) -> bool:
        if fact.kind not in department.facts:
            return False
        if fact.kind in PERSON_FACTS:
            owner = self.restricted_tags.get(fact.tag or "")
            # a restricted tag never reaches another department, whatever its list says
            return fact.tag in department.tags and owner in (None, name)
        if fact.kind in CARE_FACTS:
            return fact.care_kind in department.care_kinds
        if fact.kind in TICKET_FACTS:
            return fact.category in department.ticket_categories
        return True


def parse(text: str) -> DepartmentCatalogue:
    """A catalogue from the text of its TOML file; :class:`CatalogueError` names the entry at
    fault (``departments.justice.facts: unknown facts ['x']``)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"the department catalogue is no TOML: {error}") from None
    digest = hashlib.sha256(text.encode()).hexdigest()
    try:
        return DepartmentCatalogue.model_validate({**data, "digest": digest})
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"])
            message = problem["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        raise CatalogueError("; ".join(problems)) from None


def load(path: Path | None = None) -> DepartmentCatalogue:
    """The catalogue in ``path`` (default: the one shipped with the service)."""
    path = path or DEFAULT_CATALOGUE
    try:
        return parse(path.read_text(encoding="utf-8"))
    except CatalogueError as error:
        raise CatalogueError(f"{path}: {error}") from None
