"""The queries of the people read model (``projections.people``): persons and households as the
routes show them, in the caller's places, on a date and as the register knew it then."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.addresses import normalise_address
from wangge.governance.times import today
from wangge.registry.personal_data import person_identities
from wangge.registry.projections.places import in_places, with_place
from wangge.registry.projections.rows import narrowed, page_of


def as_of(t: sa.Table, on: date, known_at: datetime | None) -> list[sa.ColumnElement[bool]]:
    """Rows of an interval table valid on ``on``, as the register knew it at ``known_at``."""
    clauses = [t.c.valid_from <= on]
    if known_at is None:
        clauses.append(sa.or_(t.c.valid_to.is_(None), t.c.valid_to > on))
        return clauses
    clauses.append(t.c.recorded_from <= known_at)
    clauses.append(sa.or_(t.c.valid_to.is_(None), t.c.valid_to > on, t.c.recorded_to > known_at))
    return clauses


Tables = Mapping[str, sa.Table]

TAG_FIELDS = ("tag", "source", "valid_from", "valid_until", "ended_on")
"""The columns of a person's tag that :func:`person_rows` adds, each as ``tag_<name>``."""


def person_query(people: Tables, places: Tables) -> sa.Select[Any]:
    """Persons with the scope of the dwelling they live, or last lived, in."""
    p, pl = people["persons"], places["places"]
    return sa.select(p, pl.c.scope).select_from(p.outerjoin(pl, pl.c.place_id == p.c.dwelling_id))


async def person_scope(
    conn: AsyncConnection, people: Tables, places: Tables, person_id: uuid.UUID
) -> str | None:
    """The scope of the dwelling a person lives, or last lived, in (None if unknown)."""
    scope: str | None = await conn.scalar(
        person_query(people, places)
        .with_only_columns(places["places"].c.scope)
        .where(people["persons"].c.person_id == person_id)
    )
    return scope


async def person_rows(
    conn: AsyncConnection,
    people: Tables,
    places: Tables,
    *,
    person_id: uuid.UUID | None = None,
    identity_hash: str | None = None,
    hidden_tags: Collection[str] = (),
) -> list[Any]:
    """A person's row (with its scope) once per current tag but ``hidden_tags`` (none: one row
    with the tag columns empty); found by id or by the keyed hash of their identity number.

    One query, a row per current tag: lookups are the register's most frequent read, and
    each round trip more showed in their tail latency.
    """
    p, tags = people["persons"], people["tags"]
    on = [tags.c.person_id == p.c.person_id, *current(tags)]
    if hidden_tags:
        on.append(tags.c.tag.not_in(hidden_tags))
    tag_columns = [tags.c[name].label(f"tag_{name}") for name in TAG_FIELDS]
    query = (
        person_query(people, places)
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
    return list(await conn.execute(query))


def current(tags: sa.Table) -> list[sa.ColumnElement[bool]]:
    """A tag in force today in the subdistrict: not ended, and not past its ``valid_until`` (a
    tag given until a day lapses after it, as the grid report counts it, with no event)."""
    on = today()
    return [
        tags.c.ended_on.is_(None),
        sa.or_(tags.c.valid_until.is_(None), tags.c.valid_until >= on),
    ]


async def persons_page(
    conn: AsyncConnection,
    people: Tables,
    places: Tables,
    *,
    within: Collection[str],
    name: str | None = None,
    address: str | None = None,
    tag: str | None = None,
    residence_status: str | None = None,
    page: int,
    size: int,
) -> tuple[list[Any], int]:
    """A page of persons inside ``within`` (with their scope), by part of the name, address
    text, current tag or status, and how many there are."""
    p, pl = people["persons"], places["places"]
    query = person_query(people, places).where(in_places(pl.c.scope, within))
    if name:
        query = query.where(p.c.name.contains(name.strip(), autoescape=True))
    if address:
        query = query.where(pl.c.address_key.contains(normalise_address(address), autoescape=True))
    if tag:
        tags = people["tags"]
        query = query.where(
            sa.exists().where(tags.c.person_id == p.c.person_id, tags.c.tag == tag, *current(tags)),
            # a merged record's tags went to the record kept: the human is found once, there
            p.c.merged_into.is_(None),
        )
    query = narrowed(query, (p.c.residence_status, residence_status))
    return await page_of(conn, query, pl.c.address, p.c.person_id, page=page, size=size)


async def residents_on(
    conn: AsyncConnection,
    people: Tables,
    dwelling_id: uuid.UUID,
    on: date,
    known_at: datetime | None,
) -> list[Any]:
    """Who lived in a dwelling on ``on``, as known at ``known_at``: each residence's
    ``valid_from`` and ``valid_to`` with the person's row."""
    r, p = people["residences"], people["persons"]
    rows = await conn.execute(
        sa.select(r.c.person_id, r.c.valid_from, r.c.valid_to, p)
        .join(p, p.c.person_id == r.c.person_id)
        .where(r.c.dwelling_id == dwelling_id, *as_of(r, on, known_at))
        .order_by(r.c.valid_from, r.c.person_id)
    )
    return list(rows)


async def dwelling_ties(
    conn: AsyncConnection,
    people: Tables,
    *,
    person_id: uuid.UUID | None = None,
    dwelling_id: uuid.UUID | None = None,
) -> list[Any]:
    """The ties in force (owner, tenant, lodger) of a person or of a dwelling, each with the
    person's masked name, oldest first."""
    t, p = people["ties"], people["persons"]
    query = sa.select(t.c.person_id, t.c.dwelling_id, t.c.relation, t.c.since, p.c.name_masked)
    query = query.join(p, p.c.person_id == t.c.person_id)
    if person_id is not None:
        query = query.where(t.c.person_id == person_id)
    if dwelling_id is not None:
        query = query.where(t.c.dwelling_id == dwelling_id)
    return list(await conn.execute(query.order_by(t.c.since, t.c.person_id, t.c.relation)))


def household_query(people: Tables, places: Tables) -> sa.Select[Any]:
    """Households with the scope and address of their dwelling."""
    h = people["households"]
    return with_place(h, h.c.dwelling_id, places)


async def household(
    conn: AsyncConnection, people: Tables, places: Tables, household_id: uuid.UUID
) -> Any:
    """A household's row with its scope and address (None if there is none)."""
    h = people["households"]
    query = household_query(people, places).where(h.c.household_id == household_id)
    return (await conn.execute(query)).first()


async def households_page(
    conn: AsyncConnection,
    people: Tables,
    places: Tables,
    *,
    within: Collection[str],
    dwelling_id: uuid.UUID | None = None,
    number: str | None = None,
    page: int,
    size: int,
) -> tuple[list[Any], int]:
    """A page of households inside ``within``, by dwelling or number, and how many."""
    h, pl = people["households"], places["places"]
    query = narrowed(
        household_query(people, places).where(in_places(pl.c.scope, within)),
        (h.c.dwelling_id, dwelling_id),
        (h.c.number, number),
    )
    return await page_of(conn, query, pl.c.address, h.c.number, page=page, size=size)


async def household_card(
    conn: AsyncConnection,
    people: Tables,
    places: Tables,
    household_id: uuid.UUID,
    on: date,
    known_at: datetime | None,
) -> list[Any]:
    """The household card's rows: the household (with scope and address) once per member on
    ``on`` as known at ``known_at`` and tag they carried then (head first); one row with the
    member columns empty when it had no members then, none when there is no such household.

    One query reads the household, its members and their tags: a card is the register's most
    read page, and each round trip more showed in its tail latency.
    """
    h, pl = people["households"], places["places"]
    m, p, t = people["memberships"], people["persons"], people["tags"]
    columns = (
        h.c.household_id, h.c.number, h.c.type, h.c.dwelling_id, h.c.head_person_id,
        h.c.version, pl.c.address, pl.c.scope, m.c.person_id, m.c.relationship, m.c.valid_from,
        p.c.name_masked, p.c.identity_masked, p.c.sex, p.c.birth_year, p.c.residence_status,
        t.c.tag,
    )  # fmt: skip
    query = (
        sa.select(*columns)
        .select_from(
            h.join(pl, pl.c.place_id == h.c.dwelling_id)
            .outerjoin(m, sa.and_(m.c.household_id == h.c.household_id, *as_of(m, on, known_at)))
            .outerjoin(p, p.c.person_id == m.c.person_id)
            .outerjoin(
                t,
                sa.and_(
                    t.c.person_id == m.c.person_id,
                    t.c.valid_from <= on,
                    sa.or_(t.c.ended_on.is_(None), t.c.ended_on > on),
                ),
            )
        )
        .where(h.c.household_id == household_id)
        .order_by(m.c.relationship != "head", m.c.valid_from, m.c.person_id, t.c.tag)
    )
    return list(await conn.execute(query))


@dataclass(frozen=True)
class GridCounts:
    """A roll-up of grids: households, persons by residence status, and tags, per grid id."""

    households: dict[Any, int]
    statuses: dict[Any, dict[str, int]]
    tags: dict[Any, dict[str, int]]


async def grid_counts(
    conn: AsyncConnection, people: Tables, places: Tables, grid_ids: list[Any], on: date
) -> GridCounts:
    """Households, persons (merged records left out) by residence status, and persons
    carrying each tag on ``on``, in each of ``grid_ids``."""
    pl, p, h, t = places["places"], people["persons"], people["households"], people["tags"]
    households = {
        r.grid_id: r.n
        for r in await conn.execute(
            sa.select(pl.c.grid_id, sa.func.count().label("n"))
            .select_from(h.join(pl, pl.c.place_id == h.c.dwelling_id))
            .where(pl.c.grid_id.in_(grid_ids))
            .group_by(pl.c.grid_id)
        )
    }
    statuses: dict[Any, dict[str, int]] = {}
    live = p.c.merged_into.is_(None)
    for r in await conn.execute(
        sa.select(pl.c.grid_id, p.c.residence_status, sa.func.count().label("n"))
        .select_from(p.join(pl, pl.c.place_id == p.c.dwelling_id))
        .where(pl.c.grid_id.in_(grid_ids), live)
        .group_by(pl.c.grid_id, p.c.residence_status)
    ):
        statuses.setdefault(r.grid_id, {})[r.residence_status] = r.n
    tags: dict[Any, dict[str, int]] = {}
    tagged = t.join(p, p.c.person_id == t.c.person_id).join(pl, pl.c.place_id == p.c.dwelling_id)
    for r in await conn.execute(
        sa.select(pl.c.grid_id, t.c.tag, sa.func.count(sa.distinct(t.c.person_id)).label("n"))
        .select_from(tagged)
        .where(
            pl.c.grid_id.in_(grid_ids), live, t.c.valid_from <= on, t.c.ended_on.is_(None),
            sa.or_(t.c.valid_until.is_(None), t.c.valid_until >= on),
        )
        .group_by(pl.c.grid_id, t.c.tag)
    ):  # fmt: skip
        tags.setdefault(r.grid_id, {})[r.tag] = r.n
    return GridCounts(households, statuses, tags)
