"""Workers' records, read from the read models: hours by topic, sessions attended, and each
programme's progress, which :func:`wangge.training.domain.programmes.progress` derives from the
attendance and scores (completion is never stored, so a corrected attendance corrects it)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.governance.times import local_day
from wangge.service.app import ServiceState
from wangge.training.domain import programmes as p
from wangge.training.domain.sessions import ATTENDED
from wangge.training.tables import roster, sessions_tables


class ModuleRead(BaseModel):
    code: str
    title: str
    hours_required: float
    hours_done: float
    pass_score: float | None
    best_score: float | None
    completed_on: date | None


class ProgrammeProgress(BaseModel):
    programme_id: uuid.UUID
    name: str
    worker_id: uuid.UUID
    enrolled_on: date
    left_on: date | None
    completed_on: date | None
    modules: list[ModuleRead]
    missing: list[str]
    """The codes of the modules still to complete."""


@dataclass(frozen=True)
class WorkerProgress:
    worker: Any
    """The worker's roster row (account and grids: who may read it)."""
    progress: ProgrammeProgress


@dataclass(frozen=True)
class _Nobody:
    account: str = ""
    grid_ids: tuple[str, ...] = ()


async def progress_of(
    conn: AsyncConnection,
    state: ServiceState,
    *,
    programme_id: uuid.UUID | None = None,
    worker_id: uuid.UUID | None = None,
) -> list[WorkerProgress]:
    """The progress of every enrolment of a programme, or of a worker, or both."""
    tables = await sessions_tables(conn, state)
    m, t = tables["members"], tables["programmes"]
    query = sa.select(m, t.c.name, t.c.modules, t.c.ordered, t.c.period_days).join(
        t, t.c.programme_id == m.c.programme_id
    )
    if programme_id is not None:
        query = query.where(m.c.programme_id == programme_id)
    if worker_id is not None:
        query = query.where(m.c.worker_id == worker_id)
    members = (await conn.execute(query.order_by(m.c.enrolled_on, m.c.worker_id))).all()
    if not members:
        return []
    credits = await _credits(
        conn, tables, {r.programme_id for r in members}, {r.worker_id for r in members}
    )
    workers = await _workers(conn, state, {r.worker_id for r in members})
    out = []
    for row in members:
        modules = [p.Module.model_validate(x) for x in row.modules]
        made = p.progress(
            modules, ordered=row.ordered, period_days=row.period_days,
            enrolled_on=row.enrolled_on,
            credits=credits.get((row.programme_id, row.worker_id), []),
        )  # fmt: skip
        out.append(
            WorkerProgress(
                workers.get(row.worker_id, _Nobody()),
                ProgrammeProgress(
                    programme_id=row.programme_id, name=row.name, worker_id=row.worker_id,
                    enrolled_on=row.enrolled_on, left_on=row.left_on,
                    completed_on=made.completed_on,
                    modules=[ModuleRead(**vars(x)) for x in made.modules],
                    missing=[x.code for x in made.missing],
                ),
            )
        )  # fmt: skip
    return out


async def _credits(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table],
    programme_ids: set[uuid.UUID],
    worker_ids: set[uuid.UUID],
) -> dict[tuple[uuid.UUID, uuid.UUID], list[p.Credit]]:
    s, a, sc = tables["sessions"], tables["attendance"], tables["scores"]
    rows = await conn.execute(
        sa.select(
            s.c.programme_id, s.c.module_code, s.c.starts_at, s.c.hours, a.c.worker_id,
            sc.c.score, sc.c.max_score,
        )
        .join(a, a.c.session_id == s.c.session_id)
        .outerjoin(sc, (sc.c.session_id == a.c.session_id) & (sc.c.worker_id == a.c.worker_id))
        .where(
            s.c.programme_id.in_(programme_ids), a.c.worker_id.in_(worker_ids),
            a.c.attendance.in_([str(x) for x in ATTENDED]), s.c.cancelled_reason.is_(None),
        )
    )  # fmt: skip
    credits: dict[tuple[uuid.UUID, uuid.UUID], list[p.Credit]] = {}
    for r in rows:
        percent = None if r.score is None else 100 * r.score / r.max_score
        credits.setdefault((r.programme_id, r.worker_id), []).append(
            p.Credit(r.module_code, local_day(r.starts_at), r.hours, percent)
        )
    return credits


async def _workers(
    conn: AsyncConnection, state: ServiceState, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    tables = await roster(conn, state)
    if tables is None:
        return {}
    w = tables["workers"]
    rows = await conn.execute(sa.select(w).where(w.c.worker_id.in_(ids)))
    return {r.worker_id: r for r in rows}
