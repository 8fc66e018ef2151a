"""Residents: the cases service's copy of the masked names the registry publishes, so that a
party or a care plan given by a resident's pseudonymous id shows the registry's mask, never
one a client typed (DESIGN §6: the owner masks, other services keep only masks)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import ClassVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.consumed.registry import (
    PersonalDataErased,
    PersonDetailsCorrected,
    PersonRegistered,
)
from wangge.cases.domain.cases import ERASED
from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles

UUID = sa.Uuid(as_uuid=True)

UNKNOWN_RESIDENT = "登记人口"
"""The display of a resident this copy does not (yet) know: neutral, since the only other source
of a name would be the client, who is not trusted to mask."""


class Residents(Projection):
    """One row per registered person: their pseudonymous id and masked name."""

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
        return {"residents": residents}

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
