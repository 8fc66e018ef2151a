"""Shared reads of the people read model: a person's row with its place scope, and schemas."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.projection import active_generations
from wangge.governance.errors import NotFound
from wangge.registry.api.access import ensure_visible, in_scope
from wangge.registry.bootstrap import Registry
from wangge.registry.domain.persons import RESTRICTED_TAGS
from wangge.registry.personal_data import KeyRing, person_identities
from wangge.registry.projections.people import People
from wangge.registry.projections.places import PlaceTree
from wangge.service.app import ServiceState
from wangge.service.auth import Principal
from wangge.service.deps import core_of

Core = Annotated[Registry, Depends(core_of(Registry))]
"""The registry's core: its store, read models and key ring (its bootstrap made it)."""


async def keyring(core: Core) -> KeyRing:
    """The registry's key ring (its bootstrap made it)."""
    return core.keyring


Keys = Annotated[KeyRing, Depends(keyring)]


class TagRead(BaseModel):
    """A tag a person carries."""

    tag: str
    source: str
    valid_from: Any
    valid_until: Any = None
    ended_on: Any = None


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
    version: int


class Views:
    """The active tables of the registry's read models, for one connection."""

    def __init__(
        self,
        places: Mapping[str, sa.Table],
        people: Mapping[str, sa.Table],
        generations: Mapping[str, int],
    ) -> None:
        self.places = places["places"]
        self.people = people
        self.persons = people["persons"]
        self.generations = generations

    @classmethod
    async def of(cls, conn: AsyncConnection, state: ServiceState) -> Views:
        """The views of a running registry (one query finds both models' generations)."""
        active = await active_generations(conn)
        places, people = (state.service_projection(n) for n in (PlaceTree.name, People.name))
        if not active.get(places.name) or not active.get(people.name):
            raise LookupError("the registry's read models have not started")
        return cls(places.tables(active[places.name]), people.tables(active[people.name]), active)

    async def place_in_scope(
        self,
        conn: AsyncConnection,
        principal: Principal,
        place_id: uuid.UUID,
        *,
        field: str,
        what: str = "place",
    ) -> None:
        """404 naming ``field`` unless the place exists and lies in the caller's places."""
        pl = self.places
        scope = await conn.scalar(sa.select(pl.c.scope).where(pl.c.place_id == place_id))
        if not in_scope(principal, scope):
            raise NotFound(f"no {what} {place_id}", field=field)

    def person_query(self) -> sa.Select[Any]:
        """Persons with the scope of the dwelling they live, or last lived, in."""
        p, pl = self.persons, self.places
        return sa.select(p, pl.c.scope).select_from(
            p.outerjoin(pl, pl.c.place_id == p.c.dwelling_id)
        )

    async def person_scope(self, conn: AsyncConnection, person_id: uuid.UUID) -> str | None:
        """The scope of the dwelling a person lives, or last lived, in (None if unknown)."""
        pl = self.places
        scope: str | None = await conn.scalar(
            self.person_query()
            .with_only_columns(pl.c.scope)
            .where(self.persons.c.person_id == person_id)
        )
        return scope

    async def person(
        self,
        conn: AsyncConnection,
        principal: Principal,
        person_id: uuid.UUID | None = None,
        *,
        identity_hash: str | None = None,
    ) -> PersonRead:
        """A person the caller may see (404 otherwise), with their current tags; found by id or
        by the keyed hash of their identity number.

        One query, a row per current tag: lookups are the register's most frequent read, and
        each round trip more showed in their tail latency.
        """
        p, tags = self.persons, self.people["tags"]
        on = [tags.c.person_id == p.c.person_id, tags.c.ended_on.is_(None)]
        if principal.department_only:
            # minimised: a department does not learn of health or justice tags
            on.append(tags.c.tag.not_in(RESTRICTED_TAGS))
        tag_columns = [c.label(f"tag_{c.name}") for c in tags.c if c.name in TagRead.model_fields]
        query = (
            self.person_query()
            .add_columns(*tag_columns)
            .outerjoin(tags, sa.and_(*on))
            .order_by(tags.c.tag)
        )
        if identity_hash is not None:
            ids = person_identities
            query = query.where(
                p.c.person_id
                == sa.select(ids.c.person_id)
                .where(ids.c.identity_hash == identity_hash)
                .scalar_subquery()
            )
        else:
            query = query.where(p.c.person_id == person_id)
        rows = list(await conn.execute(query))
        row = rows[0] if rows else None
        if identity_hash is not None and (row is None or not in_scope(principal, row.scope)):
            # one answer for a number nobody has and one registered outside the caller's
            # places: a different one would tell a caller that someone is registered elsewhere
            raise NotFound("no person with this identity number", field="identity_number")
        found = row.person_id if row is not None else person_id
        ensure_visible(principal, row.scope if row is not None else None, f"person {found}")
        person = PersonRead.model_validate(row, from_attributes=True)
        person.tags = [
            TagRead(**{name: getattr(r, f"tag_{name}") for name in TagRead.model_fields})
            for r in rows
            if r.tag_tag is not None
        ]
        return person
