"""The registry's route dependencies: its core, a read connection, the read models' tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.projection import active_tables
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.personal_data import KeyRing
from wangge.service.deps import ReadConnection, core_of

__all__ = ["Core", "Keys", "ReadConnection", "tables"]

Core = Annotated[RegistryCore, Depends(core_of(RegistryCore))]
"""The registry's core: its store, read models, settings and key ring."""


async def keyring(core: Core) -> KeyRing:
    """The registry's key ring (its bootstrap made it)."""
    return core.keyring


Keys = Annotated[KeyRing, Depends(keyring)]


async def tables(
    conn: AsyncConnection, core: RegistryCore, projection: str
) -> Mapping[str, sa.Table]:
    """The active tables of one of the registry's read models."""
    return await active_tables(conn, core.projection(projection))
