"""A service's copy of the place tree filled in batches (``register_many``) holds the rows that
inserting each place and deriving it leaves, whatever order the places arrive in."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from wangge.governance import place_tree


def _tree() -> list[dict[str, Any]]:
    """A subdistrict, two communities, a grid each, buildings with and without units."""
    places: list[dict[str, Any]] = []

    def add(kind: str, name: str, parent: dict[str, Any] | None, **more: Any) -> dict[str, Any]:
        place = {"place_id": uuid.uuid4(), "kind": kind, "name": name, "code": None,
                 "number": more.get("number"),
                 "parent_id": parent["place_id"] if parent else None}  # fmt: skip
        places.append(place)
        return place

    root = add("subdistrict", "沿江街道", None)
    for c in range(2):
        community = add("community", f"滨江{c}社区", root)
        grid = add("grid", f"第{c}网格", community)
        for b in range(1, 4):
            building = add("building", f"{b}栋", grid, number=f"{b}栋")
            parent = add("unit", "1单元", building, number="1单元") if b % 2 else building
            for d in (101, 102):
                add("dwelling", str(d), parent, number=str(d))
    return places


def _tables(with_address: bool) -> tuple[sa.MetaData, sa.Table, sa.Table]:
    metadata = sa.MetaData()
    tables = []
    for name in ("one_by_one", "batched"):
        extra = (
            [sa.Column("number", sa.String(50)), sa.Column("address", sa.String(400)),
             sa.Column("address_key", sa.String(400))]
            if with_address
            else []
        )  # fmt: skip
        suffix = uuid.uuid4().hex[:8]
        tables.append(sa.Table(f"{name}_{suffix}", metadata, *place_tree.columns(), *extra))
    return metadata, tables[0], tables[1]


async def _derive_one_at_a_time(conn: AsyncConnection, places: sa.Table, place_id: Any) -> None:
    """The oracle: a place derived from its parent, then each child in turn, four statements a
    place (what ``place_tree.derive`` did before it derived the places below a level at a
    time)."""
    with_address = "address" in places.c
    row = (await conn.execute(sa.select(places).where(places.c.place_id == place_id))).one()
    parent = None
    if row.parent_id is not None:
        parent = (
            await conn.execute(sa.select(places).where(places.c.place_id == row.parent_id))
        ).first()
        if parent is None or not place_tree._derived(parent._mapping, with_address):
            return
    values = place_tree._values(
        row._mapping, parent._mapping if parent is not None else None, with_address
    )
    await conn.execute(sa.update(places).where(places.c.place_id == place_id).values(**values))
    children = await conn.scalars(
        sa.select(places.c.place_id).where(places.c.parent_id == place_id)
    )
    for child in children.all():
        await _derive_one_at_a_time(conn, places, child)


async def _rows(engine: AsyncEngine, table: sa.Table) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        found = await conn.execute(sa.select(table).order_by(table.c.place_id))
    return [dict(r._mapping) for r in found]


@pytest.mark.parametrize("with_address", [True, False])
@pytest.mark.parametrize("order", ["parents first", "shuffled"])
async def test_batches_leave_the_rows_one_by_one_leaves(
    engine: AsyncEngine, with_address: bool, order: str
) -> None:
    places = _tree()
    if order == "shuffled":  # Kafka: a place may come before its parent, even batches before
        random.Random(7).shuffle(places)
    if not with_address:
        places = [{k: v for k, v in p.items() if k != "number"} for p in places]
    metadata, one_by_one, batched = _tables(with_address)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    for start in range(0, len(places), 7):
        batch = places[start : start + 7]
        async with engine.begin() as conn:
            for place in batch:
                await conn.execute(sa.insert(one_by_one).values(**place, derived=False))
                await _derive_one_at_a_time(conn, one_by_one, place["place_id"])
            await place_tree.register_many(conn, batched, batch)
    expected = await _rows(engine, one_by_one)
    assert await _rows(engine, batched) == expected
    assert all(r["derived"] for r in expected) and len(expected) == len(places)
    # a building moved to the other community's grid: it and everything below it derived again
    building = next(p for p in places if p["kind"] == "building")
    grid = next(
        p for p in places
        if p["kind"] == "grid" and p["place_id"] != building["parent_id"]
    )  # fmt: skip
    async with engine.begin() as conn:
        await place_tree.regrid(conn, batched, building["place_id"], grid["place_id"])
        await conn.execute(
            sa.update(one_by_one)
            .where(one_by_one.c.place_id == building["place_id"])
            .values(parent_id=grid["place_id"])
        )
        await _derive_one_at_a_time(conn, one_by_one, building["place_id"])
    regridded = await _rows(engine, one_by_one)
    assert regridded != expected
    assert await _rows(engine, batched) == regridded
    moved = [r for r in regridded if r["building_id"] == building["place_id"]]
    assert len(moved) > 1 and all(r["grid_id"] == grid["place_id"] for r in moved)
    if with_address:
        dwelling = next(r for r in expected if r["kind"] == "dwelling")
        assert dwelling["address"].startswith("滨江") and dwelling["address_key"]
