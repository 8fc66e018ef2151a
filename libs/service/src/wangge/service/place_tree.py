"""A service's own copy of the registry's place tree: deriving each place's community, grid,
building (and address, where the copy keeps one) from its parent's.

Services that route or assign by place (the hotline bridge's grid map, the cases service's
roster) keep such a copy from the registry's events. On Kafka a place may arrive before its
parent (they are different streams, in different partitions), so a place whose parent has not
arrived waits underived, and is derived when the parent comes; a rename or a re-gridding derives
the place and everything below it again.

The table needs ``place_id``, ``kind``, ``name``, ``parent_id``, ``community_id``, ``grid_id``
and ``building_id``; with ``number``, ``address`` and ``address_key`` it keeps addresses too.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.service.addresses import normalise_address, place_address

_OWN = {"community": "community_id", "grid": "grid_id", "building": "building_id"}


async def derive(conn: AsyncConnection, places: sa.Table, place_id: Any) -> None:
    """Derive a place from its parent, then its children from it (a place is derived when its
    ``grid_id`` or own id column is set, or, for an address-keeping copy, its address)."""
    with_address = "address" in places.c
    row = (await conn.execute(sa.select(places).where(places.c.place_id == place_id))).one()
    parent = None
    if row.parent_id is not None:
        parent = (
            await conn.execute(sa.select(places).where(places.c.place_id == row.parent_id))
        ).first()
        if parent is None or not _derived(parent, with_address):
            return  # derived when the parent arrives
    values: dict[str, Any] = {
        "community_id": parent.community_id if parent is not None else None,
        "grid_id": parent.grid_id if parent is not None else None,
        "building_id": parent.building_id if parent is not None else None,
    }
    if row.kind in _OWN:
        values[_OWN[row.kind]] = row.place_id
    if with_address:
        parent_address = parent.address if parent is not None else None
        address = place_address(row.kind, row.name, row.number, parent_address)
        values |= {"address": address, "address_key": normalise_address(address)}
    values["derived"] = True
    await conn.execute(sa.update(places).where(places.c.place_id == place_id).values(**values))
    children = await conn.scalars(
        sa.select(places.c.place_id).where(places.c.parent_id == place_id)
    )
    for child in children.all():
        await derive(conn, places, child)


def _derived(row: Any, with_address: bool) -> bool:
    return bool(row.derived) and (not with_address or row.address is not None)


def columns() -> list[sa.Column[Any]]:
    """The columns :func:`derive` needs (a copy adds its own, and may add address columns)."""
    uuid = sa.Uuid(as_uuid=True)
    return [
        sa.Column("place_id", uuid, primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("code", sa.String(30), index=True),
        sa.Column("parent_id", uuid, index=True),
        sa.Column("community_id", uuid, index=True),
        sa.Column("grid_id", uuid, index=True),
        sa.Column("building_id", uuid, index=True),
        sa.Column("derived", sa.Boolean, nullable=False, default=False),
    ]
