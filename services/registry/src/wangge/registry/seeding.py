"""A synthetic subdistrict in the register: its place tree, then its census through the importer."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from geojson_pydantic import Polygon
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent
from wangge.events.projection import active_tables
from wangge.events.store import StreamAppend
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.census import CensusImport, Report
from wangge.registry.domain import organisations, places, things, workers
from wangge.registry.domain.identity import normalise_phone
from wangge.registry.domain.organisations import ContactKey, OrganisationKind
from wangge.registry.domain.places import PlaceKind
from wangge.registry.domain.things import RiskLevel, ThingKind
from wangge.registry.projections.places import PlaceTree, place_with_code
from wangge.registry.synthetic import CodedPlace, Generator


async def has_subdistrict(registry: RegistryCore, code: str) -> bool:
    """Whether the register holds the subdistrict already (seeding is done once)."""
    async with registry.store.engine.connect() as conn:
        tables = await active_tables(conn, registry.projection(PlaceTree.name))
        return await place_with_code(conn, tables, code) is not None


SEED_DAY = date(2026, 1, 1)
"""When the synthetic grid workers were appointed."""


def worker_account(grid_code: str) -> str:
    """The account (token subject) of a synthetic grid's worker: ``worker-320111001-001-002``."""
    return f"worker-{grid_code}"


async def seed_tree(registry: RegistryCore, generator: Generator) -> int:
    """Register the subdistrict, its communities and grids (each with its boundary), and one
    grid worker per grid (account ``worker-<grid code>``); returns how many places."""
    subdistrict = generator.subdistrict()
    ids: dict[str, uuid.UUID] = {}
    appends = []

    def register(kind: PlaceKind, place: CodedPlace, parent: str | None) -> None:
        place_id = uuid.uuid4()
        ids[place.code] = place_id
        boundary = place.geojson()
        event: DomainEvent = places.PlaceRegistered(
            place_id=place_id, kind=kind, name=place.name, code=place.code,
            parent_id=ids[parent] if parent else None,
            boundary=Polygon.model_validate(boundary) if boundary is not None else None,
        )  # fmt: skip
        appends.append(StreamAppend(places.stream_id(place_id), [event], 0))

    root = CodedPlace(subdistrict.code, subdistrict.name)
    register(PlaceKind.SUBDISTRICT, root, None)
    for community in subdistrict.communities:
        register(PlaceKind.COMMUNITY, community, subdistrict.code)
    for grid in subdistrict.grids:
        register(PlaceKind.GRID, grid, grid.code.rsplit("-", 1)[0])
    registered = len(appends)
    for number, grid in enumerate(subdistrict.grids, 1):
        worker_id = uuid.uuid4()
        appointed = workers.appoint(
            worker_id=worker_id, account=worker_account(grid.code), name=f"网格员{number:03d}",
            work_phone=None, grid_ids=[ids[grid.code]], on=SEED_DAY,
        )  # fmt: skip
        appends.append(StreamAppend(workers.stream_id(worker_id), appointed, 0))
    await registry.append_new(appends, actor="seed")
    return registered


async def seed(
    registry: RegistryCore,
    generator: Generator,
    *,
    census_date: date,
    on_progress: Callable[[int], None] = lambda n: None,
) -> Report:
    """The subdistrict's tree and census (skipped when the subdistrict is registered)."""
    if await has_subdistrict(registry, generator.subdistrict().code):
        return Report()
    await seed_tree(registry, generator)
    importer = CensusImport(registry, census_date=census_date, actor="seed")
    await importer.load()
    rows = enumerate(generator.residents(), 1)
    report = await importer.run(rows, on_progress=on_progress)
    await seed_organisations_and_things(registry, generator, importer)
    return report


async def seed_organisations_and_things(
    registry: RegistryCore, generator: Generator, importer: CensusImport
) -> int:
    """The generator's organisations (at their grid) and things (at their building)."""
    appends: list[StreamAppend] = []
    registered: dict[str, organisations.Organisation] = {}
    contact_keys: list[tuple[uuid.UUID, bytes]] = []
    ring = registry.keyring.contacts

    def place(place_id: uuid.UUID, kind: PlaceKind) -> places.Place:
        return places.Place(place_id, kind, "", None, None, None, None, 1)

    for org in generator.organisations():
        grid_id = importer.grid_id(org.grid_code)
        if grid_id is None:
            continue
        organisation_id, contact_id, key = uuid.uuid4(), uuid.uuid4(), ring.generate()
        events = organisations.register(
            organisation_id=organisation_id, uscc=org.uscc, name=org.name,
            kind=OrganisationKind(org.kind), place=place(grid_id, PlaceKind.GRID),
            address=org.address, contact_name=org.contact_name,
            contact_phone=normalise_phone(org.contact_phone, field="contact_phone"),
            contact_key=ContactKey(contact_id, ring.sealer(key, contact_id)),
        )  # fmt: skip
        contact_keys.append((contact_id, key))
        registered[org.uscc] = organisations.evolve(None, events[0], 1)
        appends.append(StreamAppend(organisations.stream_id(organisation_id), events, 0))
    for item in generator.things():
        grid_id = importer.grid_id(item.grid_code)
        building = importer.child_id(grid_id, item.building_number) if grid_id else None
        if building is None:
            continue
        thing_id = uuid.uuid4()
        kind = ThingKind(item.kind)
        found = things.register(
            thing_id=thing_id, kind=kind, category=item.name, name=item.name,
            place=place(building, PlaceKind.BUILDING),
            responsible=registered.get(item.responsible_uscc or ""),
            description=item.description,
            risk_level=RiskLevel.MEDIUM if kind == ThingKind.HAZARD_POINT else None,
        )  # fmt: skip
        appends.append(StreamAppend(things.stream_id(thing_id), found, 0))

    async def keep(conn: AsyncConnection) -> None:
        await ring.keep_many(conn, contact_keys)

    await registry.append_new(appends, actor="seed", also=keep)
    return len(appends)
