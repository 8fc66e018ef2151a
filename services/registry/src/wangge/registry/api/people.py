"""Reads of the people read model as one caller may see them: a person, a place's scope check,
and the schemas of a person."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.errors import NotFound
from wangge.registry.api.access import ensure_visible, in_scope
from wangge.registry.domain.persons import RESTRICTED_TAGS
from wangge.registry.projections import people_queries
from wangge.registry.projections.places import place_scope
from wangge.registry.projections.views import Views
from wangge.service.auth import Principal


class TagRead(BaseModel):
    """A tag a person carries."""

    tag: str
    source: str
    valid_from: Any
    valid_until: Any = None
    ended_on: Any = None


class DwellingTie(BaseModel):
    """A person's tie to a dwelling other than living there: owner, tenant or lodger."""

    person_id: uuid.UUID
    name_masked: str
    dwelling_id: uuid.UUID
    relation: str = Field(description="owner, tenant or lodger")
    since: date


class PersonRead(BaseModel):
    """A person as other systems see them: masked, minimised (DESIGN section 6)."""

    person_id: uuid.UUID = Field(description="pseudonymous: random, never derived from identity")
    name_masked: str
    identity_masked: str
    phone_masked: str | None
    sex: str
    birth_year: int
    hukou_type: str
    residence_status: str
    dwelling_id: uuid.UUID | None = Field(description="where they live, or last lived")
    household_id: uuid.UUID | None
    merged_into: uuid.UUID | None
    erased: bool
    scope: str | None = Field(description="the grid code of their dwelling")
    tags: list[TagRead] = []
    ties: list[DwellingTie] | None = Field(
        default=None,
        description="the dwellings they own, rent or lodge in now (a person's read and "
        "lookup; not in lists)",
    )
    version: int


async def place_in_scope(
    conn: AsyncConnection,
    views: Views,
    principal: Principal,
    place_id: uuid.UUID,
    *,
    field: str,
    what: str = "place",
) -> None:
    """404 naming ``field`` unless the place exists and lies in the caller's places."""
    if not in_scope(principal, await place_scope(conn, views.places, place_id)):
        raise NotFound(f"no {what} {place_id}", field=field)


async def visible_person(
    conn: AsyncConnection,
    views: Views,
    principal: Principal,
    person_id: uuid.UUID | None = None,
    *,
    identity_hash: str | None = None,
) -> PersonRead:
    """A person the caller may see (404 otherwise), with their current tags; found by id or
    by the keyed hash of their identity number."""
    rows = await people_queries.person_rows(
        conn, views.people, views.places, person_id=person_id, identity_hash=identity_hash,
        # minimised: a department does not learn of health or justice tags
        hidden_tags=RESTRICTED_TAGS if principal.department_only else (),
    )  # fmt: skip
    row = rows[0] if rows else None
    if identity_hash is not None and (row is None or not in_scope(principal, row.scope)):
        # one answer for a number nobody has and one registered outside the caller's
        # places: a different one would tell a caller that someone is registered elsewhere
        raise NotFound("no person with this identity number", field="identity_number")
    found = row.person_id if row is not None else person_id
    ensure_visible(principal, row.scope if row is not None else None, f"person {found}")
    person = PersonRead.model_validate(row, from_attributes=True)
    person.tags = [
        TagRead(**{name: getattr(r, f"tag_{name}") for name in people_queries.TAG_FIELDS})
        for r in rows
        if r.tag_tag is not None
    ]
    ties = await people_queries.dwelling_ties(conn, views.people, person_id=person.person_id)
    person.ties = [DwellingTie.model_validate(t, from_attributes=True) for t in ties]
    return person
