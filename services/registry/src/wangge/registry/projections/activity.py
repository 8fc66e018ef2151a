"""Grid workers' appointments, visits and noted needs, as rows for coverage and roll-ups.

A visit's note and its needs are kept as their events carry them: the redacted copy, and the
sealed text (which the API opens with the visit's key for a caller reading one visit; once the
key is destroyed, nothing is left to open). Events from before notes were sealed carry the text
as written: only its redacted copy is kept here.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.sealing import Sealed
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.registry.domain.free_text import clear_copy
from wangge.registry.domain.visits import NeedNoted, VisitRecorded
from wangge.registry.domain.workers import (
    GridWorkerAppointed,
    GridWorkerLeft,
    GridWorkerReassigned,
)
from wangge.registry.projections.places import in_places
from wangge.registry.projections.rows import narrowed, page_of, stamp

UUID = sa.Uuid(as_uuid=True)
WHEN = TIME_COLUMN


class Activity(Projection):
    """Workers and their grids; visits and needs."""

    name = "registry_activity"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            "workers": sa.Table(
                f"registry_workers{suffix}",
                metadata,
                sa.Column("worker_id", UUID, primary_key=True),
                sa.Column("account", sa.String(200), nullable=False, index=True),
                sa.Column("name", sa.String(100), nullable=False),
                sa.Column("work_phone", sa.String(30)),
                sa.Column("appointed_on", sa.Date, nullable=False),
                sa.Column("left_on", sa.Date),
                sa.Column("version", sa.Integer, nullable=False),
            ),
            "appointments": sa.Table(
                f"registry_appointments{suffix}",
                metadata,
                sa.Column("worker_id", UUID, primary_key=True),
                sa.Column("grid_id", UUID, primary_key=True),
                sa.Column("since", sa.Date, nullable=False),
            ),
            "visits": sa.Table(
                f"registry_visits{suffix}",
                metadata,
                sa.Column("visit_id", UUID, primary_key=True),
                sa.Column("worker_account", sa.String(200), nullable=False),
                sa.Column("dwelling_id", UUID, nullable=False, index=True),
                sa.Column("household_id", UUID, index=True),
                sa.Column("visited_at", WHEN, nullable=False, index=True),
                sa.Column("documents", sa.String(200), nullable=False),
                sa.Column("persons_seen", sa.Integer, nullable=False),
                sa.Column("note", sa.Text, comment="the redacted copy"),
                sa.Column("note_sealed", sa.Text, comment="the note, sealed (JSON)"),
            ),
            "needs": sa.Table(
                f"registry_needs{suffix}",
                metadata,
                sa.Column("need_id", UUID, primary_key=True),
                sa.Column("visit_id", UUID, nullable=False, index=True),
                sa.Column("dwelling_id", UUID, nullable=False, index=True),
                sa.Column("household_id", UUID),
                sa.Column("person_id", UUID),
                sa.Column("category", sa.String(30), nullable=False),
                sa.Column("description", sa.Text, nullable=False, comment="the redacted copy"),
                sa.Column("description_sealed", sa.Text, comment="sealed (JSON)"),
                sa.Column("noted_at", WHEN, nullable=False),
            ),
        }

    @handles(GridWorkerAppointed)
    async def on_appointed(
        self, ctx: ApplyContext, event: RecordedEvent[GridWorkerAppointed]
    ) -> None:
        data = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["workers"]).values(
                worker_id=data.worker_id, account=data.account, name=data.name,
                work_phone=data.work_phone, appointed_on=data.on, version=event.version,
            )
        )  # fmt: skip
        await self._grids(ctx, data.worker_id, data.grid_ids, data.on)

    @handles(GridWorkerReassigned)
    async def on_reassigned(
        self, ctx: ApplyContext, event: RecordedEvent[GridWorkerReassigned]
    ) -> None:
        data = event.data
        await self._grids(ctx, data.worker_id, data.grid_ids, data.on)
        await self._version(ctx, event)

    @handles(GridWorkerLeft)
    async def on_left(self, ctx: ApplyContext, event: RecordedEvent[GridWorkerLeft]) -> None:
        data = event.data
        await self._grids(ctx, data.worker_id, [], data.on)
        await self._version(ctx, event, left_on=data.on)

    async def _grids(
        self, ctx: ApplyContext, worker_id: uuid.UUID, grids: list[uuid.UUID], on: date
    ) -> None:
        t = ctx.tables["appointments"]
        await ctx.conn.execute(
            sa.delete(t).where(t.c.worker_id == worker_id, t.c.grid_id.not_in(grids))
        )
        current = set(
            await ctx.conn.scalars(sa.select(t.c.grid_id).where(t.c.worker_id == worker_id))
        )
        new = [
            {"worker_id": worker_id, "grid_id": g, "since": on} for g in grids if g not in current
        ]
        if new:
            await ctx.conn.execute(sa.insert(t), new)

    async def _version(self, ctx: ApplyContext, event: RecordedEvent, **values: object) -> None:
        worker_id = event.data.worker_id  # type: ignore[attr-defined]
        await stamp(ctx, event, "workers", "worker_id", worker_id, **values)

    @handles(VisitRecorded)
    async def on_visit(self, ctx: ApplyContext, event: RecordedEvent[VisitRecorded]) -> None:
        data = event.data
        seen = {*data.persons_confirmed, *data.persons_added, *data.persons_corrected}
        await ctx.conn.execute(
            sa.insert(ctx.tables["visits"]).values(
                visit_id=data.visit_id, worker_account=data.worker_account,
                dwelling_id=data.dwelling_id, household_id=data.household_id,
                visited_at=data.visited_at, documents=",".join(data.documents_checked),
                persons_seen=len(seen), note=_copy(data.note, data.note_sealed),
                note_sealed=_json(data.note_sealed),
            )
        )  # fmt: skip

    @handles(NeedNoted)
    async def on_need(self, ctx: ApplyContext, event: RecordedEvent[NeedNoted]) -> None:
        data = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["needs"]).values(
                need_id=data.need_id, visit_id=data.visit_id, dwelling_id=data.dwelling_id,
                household_id=data.household_id, person_id=data.person_id,
                category=data.category,
                description=_copy(data.description, data.description_sealed),
                description_sealed=_json(data.description_sealed), noted_at=event.envelope.time,
            )
        )  # fmt: skip


def _copy(text: str | None, sealed: Sealed | None) -> str | None:
    """The redacted copy: the event's, or one made of the text an old event carries."""
    if text is None or sealed is not None:
        return text
    return clear_copy(text, 2000)


def _json(sealed: Sealed | None) -> str | None:
    return sealed.model_dump_json() if sealed is not None else None


# -- queries ---------------------------------------------------------------------------------------


async def visits_about(
    conn: AsyncConnection,
    people: Mapping[str, sa.Table],
    activity: Mapping[str, sa.Table],
    person_id: uuid.UUID,
) -> list[uuid.UUID]:
    """Visits whose note and needs may be about a person: to households they ever belonged to,
    noting a need of theirs, or to a dwelling they lived in when no household was named."""
    m, r = people["memberships"], people["residences"]
    v, n = activity["visits"], activity["needs"]
    rows = await conn.scalars(
        sa.select(v.c.visit_id).where(
            sa.or_(
                v.c.household_id.in_(sa.select(m.c.household_id).where(m.c.person_id == person_id)),
                v.c.visit_id.in_(sa.select(n.c.visit_id).where(n.c.person_id == person_id)),
                sa.and_(
                    v.c.household_id.is_(None),
                    v.c.dwelling_id.in_(
                        sa.select(r.c.dwelling_id).where(r.c.person_id == person_id)
                    ),
                ),
            )
        )
    )
    return list(rows)


Tables = Mapping[str, sa.Table]


async def visits_page(
    conn: AsyncConnection,
    activity: Tables,
    places: Tables,
    *,
    within: Collection[str],
    visit_id: uuid.UUID | None = None,
    dwelling_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    since: datetime | None = None,
    page: int = 1,
    size: int = 50,
) -> tuple[list[Any], list[Any], int]:
    """A page of visits inside ``within`` (with their dwelling's ``address``), newest first;
    the needs noted on them, oldest first; and how many visits there are."""
    v, n, pl = activity["visits"], activity["needs"], places["places"]
    query = (
        sa.select(v, pl.c.address)
        .join(pl, pl.c.place_id == v.c.dwelling_id)
        .where(in_places(pl.c.scope, within))
    )
    query = narrowed(
        query, (v.c.visit_id, visit_id), (v.c.dwelling_id, dwelling_id),
        (v.c.household_id, household_id),
    )  # fmt: skip
    if since is not None:
        query = query.where(v.c.visited_at >= since)
    order = (v.c.visited_at.desc(), v.c.visit_id)
    rows, total = await page_of(conn, query, *order, page=page, size=size)
    needs = await conn.execute(
        sa.select(n).where(n.c.visit_id.in_([r.visit_id for r in rows])).order_by(n.c.noted_at)
    )
    return rows, list(needs), total


async def needs_page(
    conn: AsyncConnection,
    activity: Tables,
    places: Tables,
    *,
    within: Collection[str],
    category: str | None = None,
    since: datetime | None = None,
    page: int,
    size: int,
) -> tuple[list[Any], int]:
    """A page of needs noted inside ``within``, newest first, and how many there are."""
    n, pl = activity["needs"], places["places"]
    query = (
        sa.select(n).join(pl, pl.c.place_id == n.c.dwelling_id).where(in_places(pl.c.scope, within))
    )
    query = narrowed(query, (n.c.category, category))
    if since is not None:
        query = query.where(n.c.noted_at >= since)
    return await page_of(conn, query, n.c.noted_at.desc(), n.c.need_id, page=page, size=size)


async def coverage(
    conn: AsyncConnection,
    activity: Tables,
    people: Tables,
    places: Tables,
    grid_ids: list[Any],
    since: datetime,
) -> dict[Any, tuple[int, int]]:
    """Per grid of ``grid_ids``: its households, and how many of them were visited since
    ``since`` (a visit named the household, or visited its dwelling)."""
    v, pl, h = activity["visits"], places["places"], people["households"]
    visited = sa.exists().where(
        v.c.visited_at >= since,
        sa.or_(v.c.household_id == h.c.household_id, v.c.dwelling_id == h.c.dwelling_id),
    )
    rows = await conn.execute(
        sa.select(
            pl.c.grid_id,
            sa.func.count().label("households"),
            sa.func.sum(sa.case((visited, 1), else_=0)).label("visited"),
        )
        .select_from(h.join(pl, pl.c.place_id == h.c.dwelling_id))
        .where(pl.c.grid_id.in_(grid_ids))
        .group_by(pl.c.grid_id)
    )
    return {r.grid_id: (int(r.households), int(r.visited or 0)) for r in rows}


async def workers_page(
    conn: AsyncConnection,
    activity: Tables,
    places: Tables,
    *,
    within: Collection[str],
    worker_id: uuid.UUID | None = None,
    grid_id: uuid.UUID | None = None,
    page: int = 1,
    size: int = 50,
) -> tuple[list[Any], list[Any], int]:
    """A page of grid workers appointed to a grid inside ``within``, by name; their grids
    (``worker_id``, ``place_id``, ``code``, ``name``) by code; and how many workers."""
    w, a, pl = activity["workers"], activity["appointments"], places["places"]
    visible = sa.exists().where(
        a.c.worker_id == w.c.worker_id, pl.c.place_id == a.c.grid_id,
        in_places(pl.c.scope, within),
    )  # fmt: skip
    query = narrowed(sa.select(w).where(visible), (w.c.worker_id, worker_id))
    if grid_id is not None:
        query = query.where(
            sa.exists().where(a.c.worker_id == w.c.worker_id, a.c.grid_id == grid_id)
        )
    rows, total = await page_of(conn, query, w.c.name, w.c.worker_id, page=page, size=size)
    grids = await conn.execute(
        sa.select(a.c.worker_id, pl.c.place_id, pl.c.code, pl.c.name)
        .join(pl, pl.c.place_id == a.c.grid_id)
        .where(a.c.worker_id.in_([r.worker_id for r in rows]))
        .order_by(pl.c.code)
    )
    return rows, list(grids), total


async def worker(conn: AsyncConnection, activity: Tables, worker_id: uuid.UUID) -> Any:
    """A grid worker's row, whatever their grids (None if there is none)."""
    w = activity["workers"]
    return (await conn.execute(sa.select(w).where(w.c.worker_id == worker_id))).first()
