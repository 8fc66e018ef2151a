"""A service's copy of the place tree filled in batches (``register_many``) holds the rows that
inserting each place and deriving it leaves, whatever order the places arrive in."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

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
                await place_tree.derive(conn, one_by_one, place["place_id"])
            await place_tree.register_many(conn, batched, batch)
    expected = await _rows(engine, one_by_one)
    assert await _rows(engine, batched) == expected
    assert all(r["derived"] for r in expected) and len(expected) == len(places)
    if with_address:
        dwelling = next(r for r in expected if r["kind"] == "dwelling")
        assert dwelling["address"].startswith("滨江") and dwelling["address_key"]
