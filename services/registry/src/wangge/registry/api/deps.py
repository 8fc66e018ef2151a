"""The registry's route dependencies: a read connection and the read models' active tables."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import read_only
from wangge.events.projection import active_tables
from wangge.service.deps import State


async def read_connection(state: State) -> AsyncIterator[AsyncConnection]:
    """One connection for a query's reads."""
    async with read_only(state.engine) as conn:
        yield conn


ReadConnection = Annotated[AsyncConnection, Depends(read_connection)]


async def tables(conn: AsyncConnection, state: State, projection: str) -> Mapping[str, sa.Table]:
    """The active tables of one of the service's read models."""
    return await active_tables(conn, state.service_projection(projection))
