"""The queries training's handlers and routes ask of the roster (:mod:`.roster`): who is on it,
who serves today, and who worked in which community on a day.

They live apart from the roster's module because that module is the copy of the registry's
events (and is becoming a shared one); these are the training service's own questions of it.
Every function takes the roster's tables as :func:`roster_tables` gives them: None before the
roster's first start (the registry's events not read yet), which reads as an empty roster.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.core import ServiceCore
from wangge.events.projection import active_tables
from wangge.governance import roster
from wangge.governance.errors import Conflict, DomainError
from wangge.governance.roster import Community
from wangge.training.projections.roster import Roster, worker_row

Tables = Mapping[str, sa.Table] | None
"""The roster's tables, or None before its first start."""


class UnknownWorker(DomainError):
    """The worker is not (yet) on the roster the registry's events build."""

    slug = "unknown-worker"
    title = "No such grid worker on the roster"


async def roster_tables(conn: AsyncConnection, core: ServiceCore) -> Tables:
    """The roster's tables (None before its first start: the registry's events not read yet)."""
    try:
        return await active_tables(conn, core.projection(Roster.name))
    except LookupError:
        return None


async def worker(conn: AsyncConnection, tables: Tables, worker_id: uuid.UUID) -> Any:
    """A worker's roster row (None if the registry never appointed them)."""
    return await worker_row(conn, tables, worker_id) if tables is not None else None


async def known_worker(
    conn: AsyncConnection, tables: Tables, worker_id: uuid.UUID, *, field: str = "worker_id"
) -> Any:
    """The worker's roster row (422 naming ``field`` when the registry never appointed them)."""
    row = await worker(conn, tables, worker_id)
    if row is None:
        raise UnknownWorker(f"no grid worker {worker_id} on the roster", field=field)
    return row


class WorkerLeft(Conflict):
    """The worker has left the grid: nothing new is arranged for them (their record stays)."""

    slug = "worker-left"
    title = "The grid worker has left"


async def serving_worker(
    conn: AsyncConnection, tables: Tables, worker_id: uuid.UUID, *, today: date,
    field: str = "worker_id",
) -> Any:  # fmt: skip
    """The roster row of a worker who serves ``today``: 422 naming ``field`` when the registry
    never appointed them, 409 when they have left."""
    row = await known_worker(conn, tables, worker_id, field=field)
    if row.left_on is not None and row.left_on <= today:
        raise WorkerLeft(f"grid worker {worker_id} left on {row.left_on}", field=field)
    return row


async def departed(
    conn: AsyncConnection, tables: Tables, ids: Iterable[uuid.UUID], *, today: date
) -> frozenset[uuid.UUID]:
    """Those of ``ids`` who do not serve ``today``: left, or on no roster at all."""
    ids = list(ids)
    if not ids:
        return frozenset()
    serving: set[uuid.UUID] = set()
    if tables is not None:
        w = tables["workers"]
        query = sa.select(w.c.worker_id).where(
            w.c.worker_id.in_(ids), sa.or_(w.c.left_on.is_(None), w.c.left_on > today)
        )
        serving = set(await conn.scalars(query))
    return frozenset(ids) - serving


async def all_known(
    conn: AsyncConnection, tables: Tables, ids: Iterable[uuid.UUID], *, field: str
) -> None:
    """Every one of ``ids`` is on the roster (422 naming ``field`` for the first who is not)."""
    ids = list(ids)
    known: set[uuid.UUID] = set()
    if tables is not None:
        w = tables["workers"]
        known = set(await conn.scalars(sa.select(w.c.worker_id).where(w.c.worker_id.in_(ids))))
    for worker_id in ids:
        if worker_id not in known:
            raise UnknownWorker(f"no grid worker {worker_id} on the roster", field=field)


async def workers(conn: AsyncConnection, tables: Tables) -> list[Any]:
    """Everyone on the roster, those who left too, by name."""
    if tables is None:
        return []
    w = tables["workers"]
    return list((await conn.execute(sa.select(w).order_by(w.c.name, w.c.worker_id))).all())


async def workers_by_id(
    conn: AsyncConnection, tables: Tables, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The roster rows of these workers (those on it)."""
    if tables is None or not ids:
        return {}
    w = tables["workers"]
    return {r.worker_id: r for r in await conn.execute(sa.select(w).where(w.c.worker_id.in_(ids)))}


async def serving(conn: AsyncConnection, tables: Tables, today: date) -> list[Any]:
    """The workers on the roster who have not left by ``today`` (by name)."""
    if tables is None:
        return []
    w = tables["workers"]
    query = sa.select(w).where(sa.or_(w.c.left_on.is_(None), w.c.left_on > today))
    return list((await conn.execute(query.order_by(w.c.name, w.c.worker_id))).all())


async def staying_ids(conn: AsyncConnection, tables: Tables) -> list[uuid.UUID]:
    """The ids of the workers who never left, in id order."""
    if tables is None:
        return []
    w = tables["workers"]
    query = sa.select(w.c.worker_id).where(w.c.left_on.is_(None)).order_by(w.c.worker_id)
    return list(await conn.scalars(query))


async def first_appointed(conn: AsyncConnection, tables: Tables) -> date | None:
    """The day of the earliest appointment on the roster (None while it is empty)."""
    if tables is None:
        return None
    w = tables["workers"]
    first: date | None = await conn.scalar(sa.select(sa.func.min(w.c.appointed_on)))
    return first


async def workers_by_community(
    conn: AsyncConnection, tables: Tables, day: date
) -> dict[Community | None, set[uuid.UUID]]:
    """The workers on the roster on ``day``, by their grids' communities (None: unknown)."""
    return {} if tables is None else await roster.workers_by_community(conn, tables, day)
