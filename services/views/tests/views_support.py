"""The views service's core without its web app, and the other services' event stores beside it:
a test appends the producers' events to ``Upstream`` (as the views read them: a service's tests
never import another service, so the consumer's reader models stand in for the producer's, in a
catalogue of the tests' own), lets the views catch up, and reads the views' rows and queries.
The producers' real events reach the views in the top-level ``tests/e2e/views``.

``rows_of`` dumps a view's tables, so that a test can say a rebuild from the first event leaves
what applying the events batch by batch left (``rebuilt_rows``).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from wangge.events import Catalogue, IntegrationEvent, Metadata
from wangge.events.db import create_engine
from wangge.events.projection import active_tables
from wangge.events.store import EventStore, open_store
from wangge.service.standalone import standalone
from wangge.service.testing import backend_settings, own_schema
from wangge.views.bootstrap import ViewsCore, bootstrap
from wangge.views.config import ViewsSettings
from wangge.views.consumed import cases, hotline, registry, training

SERVICES = ("registry", "cases", "hotline_bridge", "training")


def _producers() -> Catalogue:
    """The reader models of every producer's events, registered as the producer's types."""
    catalogue = Catalogue()
    modules = {
        "registry": registry,
        "cases": cases,
        "hotline_bridge": hotline,
        "training": training,
    }
    for service, module in modules.items():
        for model in vars(module).values():
            if (
                isinstance(model, type)
                and issubclass(model, IntegrationEvent)
                and model is not IntegrationEvent
            ):
                catalogue.register(model, service=service, name=model.event_type.rsplit(".", 1)[1])
    return catalogue


PRODUCERS = _producers()
"""The producers' event types, as the views read them (for appending to ``Upstream``)."""


@dataclass
class Upstream:
    """The four producers' event stores, each an SQLite file of its own (as ``make run`` keeps
    them under ./var/), appended to with the producers' own event models."""

    stores: dict[str, EventStore] = field(default_factory=dict)

    async def append(
        self,
        service: str,
        stream_id: str,
        *events: IntegrationEvent,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        actor: str = "tester",
    ) -> None:
        """Append ``events`` to the end of a producer's stream, whatever its version."""
        store = self.stores[service]
        version = await store.stream_version(stream_id)
        await store.append(
            stream_id,
            list(events),
            expected_version=version,
            metadata=Metadata(
                actor=actor, correlation_id=correlation_id, causation_id=causation_id
            ),
        )


@asynccontextmanager
async def upstream_stores(data_dir: Path) -> AsyncIterator[Upstream]:
    """The producers' stores, their event tables made."""
    made = Upstream()
    engines = []
    try:
        for service in SERVICES:
            engine = create_engine(f"sqlite+aiosqlite:///{data_dir / f'{service}.db'}")
            engines.append(engine)
            store = open_store(engine, service=service, catalogue=PRODUCERS)
            await store.create_schema()
            made.stores[service] = store
        yield made
    finally:
        for engine in engines:
            await engine.dispose()


@asynccontextmanager
async def views_core(settings: ViewsSettings) -> AsyncIterator[ViewsCore]:
    """The views service's core on the settings' database (a PostgreSQL schema made for it)."""
    async with (
        own_schema(settings),
        standalone(settings, functools.partial(bootstrap, settings), create_schema=True) as core,
    ):
        yield core


def settings_for(backend: str, data_dir: Path, database_url: str | None) -> ViewsSettings:
    """The views service's settings on ``backend`` (``sqlite`` or ``postgres``)."""
    return backend_settings(ViewsSettings, backend, data_dir, database_url, "vw")


async def rows_of(core: ViewsCore, name: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of a view's active tables, each table's rows sorted, for comparing two builds
    (the runner's bookkeeping, e.g. a surrogate key drawn from a sequence, is left to the view
    to keep out of its rows)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with core.store.engine.connect() as conn:
        tables = await active_tables(conn, core.projection(name))
        for key, table in tables.items():
            rows = (await conn.execute(sa.select(table))).all()
            out[key] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # SQLite keeps naive UTC
    if isinstance(value, Mapping):
        return tuple(sorted((k, _plain(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_plain(v) for v in value)
    return value


async def rebuilt_rows(
    data_dir: Path, upstream: Upstream, names: Sequence[str]
) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """The rows a fresh views core (its own database) builds from the producers' first events."""
    fresh = data_dir / f"rebuild-{uuid.uuid4().hex[:6]}"
    fresh.mkdir()
    async with views_core(settings_for("sqlite", fresh, None)) as core:
        await core.catch_up(upstream=upstream.stores)
        return {name: await rows_of(core, name) for name in names}


@asynccontextmanager
async def world(
    data_dir: Path, backend: str = "sqlite", database_url: str | None = None
) -> AsyncIterator[tuple[Upstream, ViewsCore]]:
    """The producers' stores and a views core reading them."""
    async with AsyncExitStack() as stack:
        upstream = await stack.enter_async_context(upstream_stores(data_dir))
        core = await stack.enter_async_context(
            views_core(settings_for(backend, data_dir, database_url))
        )
        yield upstream, core


def days(start: date, *offsets: int) -> Iterable[date]:
    """Dates ``offsets`` days after ``start``."""
    return (date.fromordinal(start.toordinal() + n) for n in offsets)


@dataclass(frozen=True)
class Tree:
    """A small place tree in the registry's log: one subdistrict, one community, two grids (the
    first with a building and two dwellings, a worker holding it), as a census would leave."""

    subdistrict: uuid.UUID
    community: uuid.UUID
    grid: uuid.UUID
    other_grid: uuid.UUID
    building: uuid.UUID
    dwelling: uuid.UUID
    other_dwelling: uuid.UUID
    worker: uuid.UUID
    subdistrict_code: str = "320111001"
    community_code: str = "320111001-001"
    grid_code: str = "320111001-001-001"
    other_grid_code: str = "320111001-001-002"
    worker_account: str = "worker-zhang"


async def plant_tree(upstream: Upstream) -> Tree:
    """Register :class:`Tree`'s places and appoint its worker, as the registry's events."""
    u = uuid.uuid4
    tree = Tree(u(), u(), u(), u(), u(), u(), u(), u())
    places: list[tuple[uuid.UUID, str, str, str | None, uuid.UUID | None]] = [
        (tree.subdistrict, "subdistrict", "沿江街道", tree.subdistrict_code, None),
        (tree.community, "community", "滨江社区", tree.community_code, tree.subdistrict),
        (tree.grid, "grid", "第1网格", tree.grid_code, tree.community),
        (tree.other_grid, "grid", "第2网格", tree.other_grid_code, tree.community),
        (tree.building, "building", "12栋", None, tree.grid),
        (tree.dwelling, "dwelling", "1201", None, tree.building),
        (tree.other_dwelling, "dwelling", "1202", None, tree.building),
    ]
    for place_id, kind, name, code, parent in places:
        await upstream.append(
            "registry", f"place-{place_id}",
            registry.PlaceRegistered(
                place_id=place_id, kind=kind, name=name, code=code, parent_id=parent
            ),
        )  # fmt: skip
    await upstream.append(
        "registry", f"worker-{tree.worker}",
        registry.GridWorkerAppointed(
            worker_id=tree.worker, account=tree.worker_account, name="张伟",
            grid_ids=[tree.grid], on=date(2026, 1, 1),
        ),
    )  # fmt: skip
    return tree


ARRIVAL_ORDER: Mapping[str, Mapping[str, int]] = {"views_feeds": {"entries": 1}}
"""The columns (by index) that number a view's rows in their order of arrival: a department's
feed positions follow the order events arrive in across streams and topics, which a rebuild or
another source may change; nothing else may."""


def comparable(name: str, rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[Any]]:
    """A view's rows (``rows_of``) without their arrival-order columns, sorted again."""
    dropped = ARRIVAL_ORDER.get(name, {})
    return {
        table: sorted(
            (tuple(v for i, v in enumerate(row) if i != dropped[table]) for row in found), key=repr
        )
        if table in dropped else found
        for table, found in rows.items()
    }  # fmt: skip


async def push_ticket(
    upstream: Upstream, grid: uuid.UUID, *, received: datetime, kind: str = "complaint"
) -> tuple[uuid.UUID, str]:
    """A 12345 ticket received at ``received`` and routed to ``grid``, as the hotline bridge
    records it; its id and stream."""
    ticket = uuid.uuid4()
    stream = f"ticket-{ticket}"
    await upstream.append(
        "hotline_bridge", stream,
        hotline.TicketReceived(
            ticket_id=ticket, ticket_number=f"T{ticket.hex[:10]}", channel="phone",
            received_at=received, category="C01", category_name="噪音", kind=kind,
            content="楼下噪音", address="滨江社区12栋1201", urgency="normal",
            deadline=received + timedelta(days=3), deadline_source="catalogue",
            push_fingerprint=ticket.hex,
        ),
        hotline.TicketRoutedToGrid(ticket_id=ticket, grid_id=grid, method="dwelling", detail="x"),
    )  # fmt: skip
    return ticket, stream
