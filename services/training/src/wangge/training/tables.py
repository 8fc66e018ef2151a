"""The read models' tables of the active generation, for the routes' queries."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.projection import active_tables
from wangge.service.app import ServiceState
from wangge.training.projections.development import Development
from wangge.training.projections.roster import Roster
from wangge.training.projections.sessions import Sessions


async def roster(conn: AsyncConnection, state: ServiceState) -> Mapping[str, sa.Table] | None:
    """The roster's tables (None before its first start: the registry's events not read yet)."""
    try:
        return await active_tables(conn, state.service_projection(Roster.name))
    except LookupError:
        return None


async def sessions_tables(conn: AsyncConnection, state: ServiceState) -> Mapping[str, sa.Table]:
    """The sessions and programmes read model's tables."""
    return await active_tables(conn, state.service_projection(Sessions.name))


async def development(conn: AsyncConnection, state: ServiceState) -> Mapping[str, sa.Table]:
    """The secondments, handbooks and forums read model's tables."""
    return await active_tables(conn, state.service_projection(Development.name))
