"""The queries of the xAPI statements read model (``projections.statements``), and how a row
is served: a derived statement with its worker's account, a received one as it was sent (its
sealed content opened while its actor's key lives)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.core import ServiceCore
from wangge.events.projection import active_tables
from wangge.events.sealed import Sealed, unseal
from wangge.governance.times import stored, utc
from wangge.training.projections.statements import Statements


async def statements_tables(conn: AsyncConnection, core: ServiceCore) -> Mapping[str, sa.Table]:
    """The active generation's tables of the statements read model."""
    return await active_tables(conn, core.projection(Statements.name))


async def statement(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], statement_id: uuid.UUID
) -> Any:
    """One statement's row, voided or not (None if there is none)."""
    t = tables["statements"]
    return (await conn.execute(sa.select(t).where(t.c.statement_id == statement_id))).first()


async def statements_by_id(
    conn: AsyncConnection, tables: Mapping[str, sa.Table], ids: set[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The rows of those of these statements that are held, voided or not."""
    if not ids:
        return {}
    t = tables["statements"]
    rows = await conn.execute(sa.select(t).where(t.c.statement_id.in_(ids)))
    return {row.statement_id: row for row in rows}


SERVICE_AUTHORITY = "wangge-training"
"""The account name of the authority of the statements derived from the record."""


def _account(home_page: str, name: str) -> dict[str, Any]:
    return {"objectType": "Agent", "account": {"homePage": home_page, "name": name}}


def derived_statement(row: Any, home_page: str) -> dict[str, Any]:
    """A derived statement as served: its worker an account named by their pseudonymous id,
    the service its authority."""
    return {
        **row.body,
        "actor": _account(home_page, str(row.actor_id)),
        "authority": _account(home_page, SERVICE_AUTHORITY),
    }


def received_statement(row: Any, home_page: str, key: bytes | None) -> dict[str, Any]:
    """A received statement as served: as it was sent, with the LRS's ``stored`` and
    ``authority``. Once its actor's data were erased (no ``key``), only what the event keeps in
    clear is left, the actor an account named by their pseudonymous id under ``…/erased``."""
    if key is not None:
        body = unseal(key, Sealed.model_validate(row.sealed))
    else:
        kind = row.object_type
        target = (
            {"objectType": kind, "id": row.activity}
            if kind in ("Activity", "StatementRef")
            else _account(f"{home_page}/erased", "object")
        )
        body = {
            "id": str(row.statement_id),
            "actor": _account(f"{home_page}/erased", str(row.actor_id)),
            "verb": {"id": row.verb},
            "object": target,
            "timestamp": utc(stored(row.timestamp)).isoformat(),
            "version": "1.0.0",
        }
    return {
        **body,
        "stored": utc(stored(row.stored)).isoformat(),
        "authority": _account(home_page, row.authority),
    }


async def statements_page(
    conn: AsyncConnection,
    tables: Mapping[str, sa.Table],
    *,
    actor_id: uuid.UUID | None = None,
    verb: str | None = None,
    activity: str | None = None,
    registration: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: int | None = None,
    ascending: bool = False,
    size: int,
) -> list[Any]:
    """Up to ``size`` statements not voided, stored in ``(since, until]``, newest first unless
    ``ascending``, after ``cursor`` (a statement number) in that order."""
    t = tables["statements"]
    query = sa.select(t).where(t.c.voided_by.is_(None))
    if actor_id is not None:
        query = query.where(t.c.actor_id == actor_id)
    if verb is not None:
        query = query.where(t.c.verb == verb)
    if activity is not None:
        query = query.where(t.c.activity == activity)
    if registration is not None:
        query = query.where(t.c.registration == registration)
    if since is not None:
        query = query.where(t.c.stored > utc(since))
    if until is not None:
        query = query.where(t.c.stored <= utc(until))
    if cursor is not None:
        query = query.where(t.c.seq > cursor if ascending else t.c.seq < cursor)
    order = t.c.seq.asc() if ascending else t.c.seq.desc()
    return list((await conn.execute(query.order_by(order).limit(size))).all())
