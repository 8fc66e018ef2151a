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

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import insert_many
from wangge.governance.addresses import normalise_address, place_address

_OWN = {"community": "community_id", "grid": "grid_id", "building": "building_id"}
_CHUNK = 5000
"""Ids per IN list: a census brings tens of thousands of places."""


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
        if parent is None or not _derived(parent._mapping, with_address):
            return  # derived when the parent arrives
    values = _values(row._mapping, parent._mapping if parent is not None else None, with_address)
    await conn.execute(sa.update(places).where(places.c.place_id == place_id).values(**values))
    await _derive_below(conn, places, {place_id: {**row._mapping, **values}})


async def _derive_below(
    conn: AsyncConnection,
    places: sa.Table,
    parents: Mapping[Any, Mapping[str, Any]],
    *,
    skip: Collection[Any] = (),
) -> None:
    """Derive again everything below ``parents`` (just derived, with their rows as they are
    now), as :func:`derive` on each child would, but a level at a time: one read and one update
    per level (and :data:`_CHUNK` ids), not four statements per place. Over Kafka a census's
    places come before their parents by the hundred in each batch. ``skip``: children to leave
    alone (derived with the parents already)."""
    with_address = "address" in places.c
    level = {k: v for k, v in parents.items() if _derived(v, with_address)}
    while level:
        below: dict[Any, dict[str, Any]] = {}
        changes: list[dict[str, Any]] = []
        for chunk in _chunks(level):
            found = await conn.execute(sa.select(places).where(places.c.parent_id.in_(chunk)))
            for child in found.mappings():
                if child["place_id"] in skip:
                    continue
                values = _values(child, level[child["parent_id"]], with_address)
                below[child["place_id"]] = {**child, **values}
                changes.append({"derived_place_id": child["place_id"], **values})
        if changes:
            await conn.execute(
                sa.update(places).where(places.c.place_id == sa.bindparam("derived_place_id")),
                changes,
            )
        skip = ()
        level = {k: v for k, v in below.items() if _derived(v, with_address)}


async def regrid(conn: AsyncConnection, places: sa.Table, building_id: Any, grid_id: Any) -> None:
    """Hang a building under another grid and derive it, and what is below it, again (a building
    the copy never saw registered, or does not keep, is left alone)."""
    moved = await conn.execute(
        sa.update(places).where(places.c.place_id == building_id).values(parent_id=grid_id)
    )
    if moved.rowcount:
        await derive(conn, places, building_id)


def _derived(row: Mapping[Any, Any], with_address: bool) -> bool:
    return bool(row["derived"]) and (not with_address or row["address"] is not None)


async def register_many(
    conn: AsyncConnection, places: sa.Table, registered: Sequence[Mapping[str, Any]]
) -> None:
    """Insert newly registered places and derive them: the rows inserting each and calling
    :func:`derive` would leave, in one insert.

    A replay of the registry's log brings tens of thousands of places; one by one that is four
    statements each. Here the parents outside the batch are read in one query, the batch is
    derived in memory (a place listed before its parent waits for it, as it would), and only
    places already in the table that were waiting for one of the batch's places are derived
    afterwards, a level at a time (out-of-order arrival on Kafka: hundreds in every batch of
    a replay, its partitions read side by side).

    Each of ``registered`` holds the place's own columns (``place_id``, ``kind``, ``name``,
    ``parent_id`` and what else the table keeps of a registration, such as ``code``).
    """
    if not registered:
        return
    with_address = "address" in places.c
    batch: dict[Any, dict[str, Any]] = {}
    for given in registered:
        row = {"community_id": None, "grid_id": None, "building_id": None, **given}
        if with_address:
            row |= {"address": None, "address_key": None}
        row["derived"] = False
        batch[row["place_id"]] = row
    outside = {r["parent_id"] for r in batch.values()} - batch.keys() - {None}
    parents: dict[Any, Mapping[Any, Any]] = {}
    for chunk in _chunks(outside):
        for found in await conn.execute(sa.select(places).where(places.c.place_id.in_(chunk))):
            parents[found.place_id] = found._mapping
    waiting = list(batch.values())
    while waiting:  # one pass per level a child was listed above its parent
        still = []
        for row in waiting:
            parent = None
            if row["parent_id"] is not None:
                parent = batch.get(row["parent_id"]) or parents.get(row["parent_id"])
                if parent is None or not _derived(parent, with_address):
                    still.append(row)
                    continue
            row |= _values(row, parent, with_address)
        if len(still) == len(waiting):
            break  # the rest wait for parents not registered yet
        waiting = still
    await insert_many(conn, places, list(batch.values()))
    derived = {place_id: row for place_id, row in batch.items() if row["derived"]}
    await _derive_below(conn, places, derived, skip=batch.keys())


def _values(
    row: Mapping[Any, Any], parent: Mapping[Any, Any] | None, with_address: bool
) -> dict[str, Any]:
    """A place's derived columns, from its parent's (as :func:`derive` sets them)."""
    values: dict[str, Any] = {
        "community_id": parent["community_id"] if parent is not None else None,
        "grid_id": parent["grid_id"] if parent is not None else None,
        "building_id": parent["building_id"] if parent is not None else None,
    }
    if row["kind"] in _OWN:
        values[_OWN[row["kind"]]] = row["place_id"]
    if with_address:
        parent_address = parent["address"] if parent is not None else None
        address = place_address(row["kind"], row["name"], row.get("number"), parent_address)
        values |= {"address": address, "address_key": normalise_address(address)}
    values["derived"] = True
    return values


def _chunks(ids: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = list(ids)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start : start + _CHUNK]


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
