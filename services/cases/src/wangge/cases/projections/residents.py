"""Residents: the cases service's copy of the masked names the registry publishes, so that a
party or a care plan given by a resident's pseudonymous id shows the registry's mask, never
one a client typed (DESIGN §6: the owner masks, other services keep only masks); and of the
registry's merges of duplicate records, so that rows naming a duplicate are read as naming the
record kept (the survivor).

Rows keep the id they were written with; a merge is resolved when they are read, so undoing it
restores every row exactly as it was. A chain of merges (a merged into b, b later into c) is
followed to its end, at most ``MAX_MERGES`` records far.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.consumed.registry import (
    PersonalDataErased,
    PersonDetailsCorrected,
    PersonMerged,
    PersonMergeUndone,
    PersonRegistered,
)
from wangge.cases.domain.cases import ERASED
from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles

UUID = sa.Uuid(as_uuid=True)
Tables = Mapping[str, sa.Table]
MAX_MERGES = 16
"""How far a chain of merges is followed (a cycle would be the registry's bug, not a hang)."""

UNKNOWN_RESIDENT = "登记人口"
"""The display of a resident this copy does not (yet) know: neutral, since the only other source
of a name would be the client, who is not trusted to mask."""


def merges_table(name: str, metadata: sa.MetaData) -> sa.Table:
    """A copy of the registry's merges: each merged record and the record it was merged into
    (a row of its own, so a merge of a person the copy never saw has somewhere to go)."""
    return sa.Table(
        name,
        metadata,
        sa.Column("person_id", UUID, primary_key=True),
        sa.Column("merged_into", UUID, nullable=False, index=True),
    )


async def record_merge(conn: AsyncConnection, merges: sa.Table, event: PersonMerged) -> None:
    """The duplicate points at the record kept (again, on a redelivery: the same row)."""
    await conn.execute(sa.delete(merges).where(merges.c.person_id == event.person_id))
    await conn.execute(
        sa.insert(merges).values(person_id=event.person_id, merged_into=event.into_person_id)
    )


async def undo_merge(conn: AsyncConnection, merges: sa.Table, event: PersonMergeUndone) -> None:
    """The duplicate stands on its own again; an undo of a merge this copy does not hold (never
    seen, or undone already) changes nothing."""
    await conn.execute(
        sa.delete(merges).where(
            merges.c.person_id == event.person_id, merges.c.merged_into == event.from_person_id
        )
    )


class Residents(Projection):
    """One row per registered person: their pseudonymous id and masked name; one per merged
    record: the record it was merged into."""

    name = "cases_residents"
    reads: ClassVar[tuple[str, ...]] = ("registry",)

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        residents = sa.Table(
            f"residents{suffix}",
            metadata,
            sa.Column("person_id", UUID, primary_key=True),
            sa.Column("name_masked", sa.String(100), nullable=False),
        )
        merges = merges_table(f"resident_merges{suffix}", metadata)
        return {"residents": residents, "merges": merges}

    @handles(PersonRegistered, PersonDetailsCorrected)
    async def on_named(
        self, ctx: ApplyContext, event: RecordedEvent[PersonRegistered | PersonDetailsCorrected]
    ) -> None:
        """A resident registered, or their details corrected: the mask the registry published."""
        d = event.data
        await _keep(ctx, d.person_id, d.name_masked)

    @handles(PersonalDataErased)
    async def on_erased(self, ctx: ApplyContext, event: RecordedEvent[PersonalDataErased]) -> None:
        """An erased resident is shown as erased, never with the mask they had."""
        d = event.data
        await _keep(ctx, d.person_id, ERASED)

    @handles(PersonMerged)
    async def on_merged(self, ctx: ApplyContext, event: RecordedEvent[PersonMerged]) -> None:
        """A duplicate record is read as the record kept from now on."""
        await record_merge(ctx.conn, ctx.tables["merges"], event.data)

    @handles(PersonMergeUndone)
    async def on_unmerged(self, ctx: ApplyContext, event: RecordedEvent[PersonMergeUndone]) -> None:
        """The duplicate is read as itself again."""
        await undo_merge(ctx.conn, ctx.tables["merges"], event.data)


async def _keep(ctx: ApplyContext, person_id: uuid.UUID, name_masked: str) -> None:
    # delete then insert, one statement pair for both events on PostgreSQL and SQLite alike
    residents = ctx.tables["residents"]
    await ctx.conn.execute(sa.delete(residents).where(residents.c.person_id == person_id))
    await ctx.conn.execute(
        sa.insert(residents).values(person_id=person_id, name_masked=name_masked)
    )


async def name_masked(
    conn: AsyncConnection, tables: Mapping[str, sa.Table] | None, resident: str
) -> str:
    """A resident's masked name as the registry published it; the neutral placeholder for an
    id that is not a registered person's (or not yet copied)."""
    try:
        person_id = uuid.UUID(resident)
    except ValueError:
        return UNKNOWN_RESIDENT
    if tables is None:
        return UNKNOWN_RESIDENT
    residents = tables["residents"]
    found = await conn.scalar(
        sa.select(residents.c.name_masked).where(residents.c.person_id == person_id)
    )
    return str(found) if found is not None else UNKNOWN_RESIDENT


def _person_id(resident: str | None) -> uuid.UUID | None:
    if resident is None:
        return None
    try:
        return uuid.UUID(resident)
    except ValueError:
        return None  # not a registered person's id: nobody merges it


async def survivors(
    conn: AsyncConnection, merges: sa.Table, residents: Iterable[str | None]
) -> dict[str, str]:
    """Each merged record among ``residents`` and the record that answers for it now, the end
    of its chain of merges: a statement per link of the longest chain (one when nothing among
    them was merged), whatever the number of residents."""
    named = {r for r in residents if r is not None}
    asked = {i for r in named if (i := _person_id(r)) is not None}
    into: dict[uuid.UUID, uuid.UUID] = {}
    frontier = set(asked)
    for _ in range(MAX_MERGES):
        if not frontier:
            break
        rows = await conn.execute(
            sa.select(merges.c.person_id, merges.c.merged_into).where(
                merges.c.person_id.in_(sorted(frontier))
            )
        )
        found = {row.person_id: row.merged_into for row in rows}
        into.update(found)
        frontier = set(found.values()) - into.keys() - asked
        asked |= frontier
    return {
        r: str(_end_of_chain(i, into))
        for r in named
        if (i := _person_id(r)) is not None and i in into
    }


def _end_of_chain(person_id: uuid.UUID, into: Mapping[uuid.UUID, uuid.UUID]) -> uuid.UUID:
    seen = [person_id]
    while seen[-1] in into and len(seen) <= MAX_MERGES:
        nxt = into[seen[-1]]
        if nxt in seen:
            break  # a cycle: the registry's bug; answer with the last record reached
        seen.append(nxt)
    return seen[-1]


async def merged_into(conn: AsyncConnection, merges: sa.Table | None, resident: str) -> list[str]:
    """The resident and every record merged into them, also through records merged into those:
    every id a row naming this person may carry (a registry fact about them reaches each)."""
    person_id = _person_id(resident)
    if merges is None or person_id is None:
        return [resident]
    found: list[uuid.UUID] = [person_id]
    frontier = [person_id]
    while frontier and len(found) <= MAX_MERGES:
        rows = await conn.scalars(
            sa.select(merges.c.person_id).where(merges.c.merged_into.in_(frontier))
        )
        frontier = [r for r in rows if r not in found]
        found.extend(frontier)
    return [resident, *(str(i) for i in found[1:])]


@dataclass(frozen=True)
class Aliases:
    """How rows naming residents are shown: a merged record as the record kept, with that
    record's mask; any other as the row wrote it."""

    survivors: Mapping[str, str] = field(default_factory=dict)
    """Each merged record shown and the record that answers for it."""
    masks: Mapping[str, str] = field(default_factory=dict)
    """The masks of those records, as the registry published them."""

    def resident(self, resident: str) -> str:
        """The id a row naming ``resident`` shows."""
        return self.survivors.get(resident, resident)

    def residents(self, residents: Iterable[str]) -> list[str]:
        """The ids a list of residents shows, in order, each once (a case concerning a
        duplicate and the record kept concerns one person)."""
        return list(dict.fromkeys(self.resident(r) for r in residents))

    def mask(self, resident: str | None, kept: str) -> str:
        """The mask a row naming ``resident`` shows: the survivor's for a merged record, the
        row's own (``kept``) otherwise."""
        if resident is None or resident not in self.survivors:
            return kept
        return self.masks.get(self.survivors[resident], UNKNOWN_RESIDENT)


async def aliases(
    conn: AsyncConnection, tables: Tables | None, residents: Iterable[str | None]
) -> Aliases:
    """How the rows naming ``residents`` are shown, read at once for a whole list (an inbox, a
    triage page): one statement when none of them was merged, otherwise one per link of the
    longest chain and one for the survivors' masks."""
    if tables is None:
        return Aliases()
    found = await survivors(conn, tables["merges"], residents)
    if not found:
        return Aliases()
    r = tables["residents"]
    kept = sorted({uuid.UUID(s) for s in found.values()})
    rows = await conn.execute(
        sa.select(r.c.person_id, r.c.name_masked).where(r.c.person_id.in_(kept))
    )
    return Aliases(found, {str(row.person_id): row.name_masked for row in rows})
