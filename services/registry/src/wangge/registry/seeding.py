"""A synthetic subdistrict in the register: its place tree, then its census through the importer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from wangge.events import DomainEvent, Metadata
from wangge.events.projection import active_tables, apply_inline
from wangge.events.store import StreamAppend
from wangge.registry.bootstrap import Registry
from wangge.registry.census import CensusImport, Report
from wangge.registry.domain import places
from wangge.registry.domain.places import PlaceKind
from wangge.registry.projections.places import PlaceTree
from wangge.registry.synthetic import Generator


async def has_subdistrict(registry: Registry, code: str) -> bool:
    """Whether the register holds the subdistrict already (seeding is done once)."""
    tree = next(p for p in registry.projections if isinstance(p, PlaceTree))
    async with registry.store.engine.connect() as conn:
        t = (await active_tables(conn, tree))["places"]
        return bool(await conn.scalar(sa.select(sa.func.count()).where(t.c.code == code)))


async def seed_tree(registry: Registry, generator: Generator) -> int:
    """Register the subdistrict, its communities and grids; returns how many places."""
    subdistrict = generator.subdistrict()
    ids: dict[str, uuid.UUID] = {}
    appends = []

    def register(kind: PlaceKind, code: str, name: str, parent: str | None) -> None:
        place_id = uuid.uuid4()
        ids[code] = place_id
        event: DomainEvent = places.PlaceRegistered(
            place_id=place_id, kind=kind, name=name, code=code,
            parent_id=ids[parent] if parent else None,
        )  # fmt: skip
        appends.append(StreamAppend(places.stream_id(place_id), [event], 0))

    register(PlaceKind.SUBDISTRICT, subdistrict.code, subdistrict.name, None)
    for community in subdistrict.communities:
        register(PlaceKind.COMMUNITY, community.code, community.name, subdistrict.code)
    for grid in subdistrict.grids:
        register(PlaceKind.GRID, grid.code, grid.name, grid.code.rsplit("-", 1)[0])
    metadata = Metadata(actor="seed")
    async with registry.store.begin() as conn:
        results = await registry.store.append_batch(appends, connection=conn, metadata=metadata)
        recorded = []
        for append, result in zip(appends, results, strict=True):
            recorded += registry.store.recorded(append.events, result, metadata)
        for projection in registry.projections:
            await apply_inline(projection, conn, recorded)
    return len(appends)


async def seed(
    registry: Registry,
    generator: Generator,
    *,
    census_date: date,
    on_progress: Callable[[int], None] = lambda n: None,
) -> Report:
    """The subdistrict's tree and census (skipped when the subdistrict is registered)."""
    if await has_subdistrict(registry, generator.subdistrict().code):
        return Report()
    await seed_tree(registry, generator)
    importer = CensusImport(
        registry.store, registry.keyring, registry.projections, census_date=census_date,
        actor="seed",
    )  # fmt: skip
    await importer.load()
    rows = enumerate(generator.residents(), 1)
    return await importer.run(rows, on_progress=on_progress)
