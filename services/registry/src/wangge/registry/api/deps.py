"""The registry's route dependencies: a read connection and the read models' active tables."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.projection import active_tables
from wangge.service.deps import ReadConnection, State

__all__ = ["ReadConnection", "tables"]


async def tables(conn: AsyncConnection, state: State, projection: str) -> Mapping[str, sa.Table]:
    """The active tables of one of the service's read models."""
    return await active_tables(conn, state.service_projection(projection))
