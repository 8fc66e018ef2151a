"""A one-router service used by the kit's own tests: counters that tick."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, Header, status
from pydantic import BaseModel, Field

from wangge.events import Catalogue, DomainEvent, RecordedEvent
from wangge.events.core import ServiceCore
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.store import EventStore
from wangge.service import NotFound, ServiceSettings, create_app
from wangge.service.app import Bootstrap
from wangge.service.auth import Principal, require, require_place
from wangge.service.deps import IdempotencyKey, Store
from wangge.service.testing import backend_settings

catalogue = Catalogue()


@catalogue.event("counters")
class Ticked(DomainEvent):
    """A counter ticked by ``n``."""

    n: int


class TickCreate(BaseModel):
    n: int = Field(ge=1, le=1000, description="how far to tick")


class TickRead(BaseModel):
    stream_id: str
    version: int
    replayed: bool


class CounterRead(BaseModel):
    counter_id: str
    total: int
    version: int


router = APIRouter(prefix="/counters", tags=["counters"])


@router.post("/{counter_id}/ticks", status_code=status.HTTP_201_CREATED)
async def tick(
    counter_id: str,
    body: TickCreate,
    store: Store,
    idempotency_key: IdempotencyKey = None,
    if_match: Annotated[int | None, Header(alias="If-Match", ge=0)] = None,
) -> TickRead:
    """Tick a counter; ``If-Match`` is the version the client last saw (0: a new counter)."""
    result = await store.append(
        f"counter-{counter_id}",
        [Ticked(n=body.n)],
        expected_version=if_match,
        idempotency_key=idempotency_key,
    )
    return TickRead(
        stream_id=result.stream_id, version=result.last_version, replayed=result.replayed
    )


@router.get("/{counter_id}")
async def read(counter_id: str, store: Store) -> CounterRead:
    """A counter's total, from its stream."""
    events = await store.read_stream(f"counter-{counter_id}")
    if not events:
        raise NotFound(f"no counter {counter_id}")
    total = sum(e.data.n for e in events if isinstance(e.data, Ticked))
    return CounterRead(counter_id=counter_id, total=total, version=events[-1].version)


@router.get("/-/boom")
async def boom() -> None:
    """Fails inside, as a bug would."""
    raise RuntimeError("secret internals")


class CounterTotals(Projection):
    """Each counter's total: the read model the kit runs from Kafka or the event table."""

    name = "counter_totals"
    UNLUCKY = 13
    fixed = False
    """Whether the fix for ticks of :data:`UNLUCKY` is deployed (a test flips it): before it, the
    handler fails on them, as a bug would."""

    def __init__(self) -> None:
        super().__init__(catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            "totals": sa.Table(
                f"counter_totals{suffix}",
                metadata,
                sa.Column("stream_id", sa.String(200), primary_key=True),
                sa.Column("total", sa.Integer, nullable=False),
            )
        }

    @handles(Ticked)
    async def on_ticked(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        assert isinstance(event.data, Ticked)
        if event.data.n == self.UNLUCKY and not CounterTotals.fixed:
            raise ValueError(f"a tick of {self.UNLUCKY} is not counted")
        totals = ctx.tables["totals"]
        updated = await ctx.conn.execute(
            sa.update(totals)
            .where(totals.c.stream_id == event.stream_id)
            .values(total=totals.c.total + event.data.n)
        )
        if updated.rowcount == 0:
            await ctx.conn.execute(
                sa.insert(totals).values(stream_id=event.stream_id, total=event.data.n)
            )


def counter_core(store: EventStore) -> ServiceCore:
    """The sample service's core: its one read model."""
    return ServiceCore(store, [CounterTotals()])


places = APIRouter(prefix="/places", tags=["places"])


@places.get("/{place}")
async def read_place(
    place: str,
    principal: Annotated[
        Principal, Depends(require("grid_worker", "community_staff", "subdistrict_admin"))
    ],
) -> dict[str, str]:
    """A place the caller may see: their own grids, community or subdistrict."""
    require_place(principal, place)
    return {"place": place, "seen_by": principal.subject}


def sample_settings(
    backend: str, data_dir: Path, database_url: str | None, prefix: str, **values: Any
) -> ServiceSettings:
    """The sample service's settings on ``backend`` (see ``backend_settings``)."""
    return backend_settings(
        ServiceSettings,
        backend,
        data_dir,
        database_url,
        prefix,
        **{"service": "counters", **values},
    )


def sample_app(
    settings: ServiceSettings,
    *,
    routers: Sequence[APIRouter] = (router, places),
    bootstrap: Bootstrap | None = counter_core,
    migrations: Path | None = None,
) -> FastAPI:
    """The sample service's app: by default every router of it, with its core."""
    return create_app(
        settings,
        title="Counters",
        routers=routers,
        catalogue=catalogue,
        bootstrap=bootstrap,
        migrations=migrations,
    )


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of ``app`` running in-process, through its lifespan (an error in the app is the
    500 a caller gets)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://counters") as client:
            yield client


def _settings() -> ServiceSettings:
    import os

    return ServiceSettings(
        service="counters",
        environment="dev",
        data_dir=Path(os.environ["SAMPLE_DATA_DIR"]),
        database_url=None,
        kafka_bootstrap_servers=None,
    )


def build_app() -> FastAPI:
    """The sample service's app, its settings from the environment (``SAMPLE_DATA_DIR``)."""
    return sample_app(_settings())


def main() -> None:
    """Serve the sample service (``python -m service_sample PORT DATA_DIR [WORKERS]``)."""
    import os
    import sys

    from wangge.service.serve import serve

    os.environ["SAMPLE_DATA_DIR"] = sys.argv[2]
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    serve(
        build_app(), _settings(), host="127.0.0.1", port=int(sys.argv[1]), workers=workers,
        factory="service_sample:build_app",
    )  # fmt: skip


if __name__ == "__main__":
    main()
