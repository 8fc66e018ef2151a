"""Test helpers for a service's API tests: its app, migrated and running, called in-process.

Each service's tests run against the embedded SQLite default and PostgreSQL (a schema of its
own per test, dropped afterwards); both take the same path through the service's migrations
and lifespan that ``make run`` and a deployment take.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute

from wangge.events.db import create_engine
from wangge.events.store import EventStore
from wangge.service.access import CALLERS, allowed, key_of
from wangge.service.app import ServiceState
from wangge.service.auth import ANY_DEPARTMENT, declared_roles
from wangge.service.devissuer import DevIssuer
from wangge.service.migrations import upgrade
from wangge.service.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def backend_settings(
    settings: type[S],
    backend: str,
    data_dir: Path,
    database_url: str | None,
    prefix: str,
    **values: Any,
) -> S:
    """A service's settings on ``backend``: the embedded SQLite default, or PostgreSQL in a
    schema of its own (named ``prefix`` and a random suffix); never Kafka. ``values`` set the
    other fields."""
    if backend == "sqlite":
        return settings(
            environment="test",
            data_dir=data_dir,
            database_url=None,
            kafka_bootstrap_servers=None,
            **values,
        )
    return settings(
        environment="test",
        data_dir=data_dir,
        database_url=database_url,
        database_schema=f"{prefix}_{uuid.uuid4().hex[:10]}",
        kafka_bootstrap_servers=None,
        **values,
    )


@dataclass
class Running(Generic[S]):
    """A running service and a way to call it as anyone."""

    client: httpx.AsyncClient
    issuer: DevIssuer
    settings: S
    app: FastAPI

    @property
    def state(self) -> ServiceState:
        """The service's running parts (engine, store, projections, core), for what a test checks
        or drives below the API."""
        state: ServiceState = self.app.state.service
        return state

    @property
    def store(self) -> EventStore:
        """The service's event store."""
        return self.state.store

    def as_(self, *roles: str, places: Iterable[str] = (), subject: str | None = None) -> Any:
        """Headers of a caller with ``roles`` in ``places``."""
        token = self.issuer.issue(
            subject or f"user-{uuid.uuid4().hex[:8]}", roles=roles, places=places
        )
        return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def own_schema(settings: ServiceSettings) -> AsyncIterator[None]:
    """Create the settings' PostgreSQL schema for the block, and drop it after (SQLite: no-op)."""
    if not settings.database_schema:
        yield
        return
    admin = create_engine(settings.resolved_database_url)
    async with admin.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{settings.database_schema}"'))
    try:
        yield
    finally:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{settings.database_schema}" CASCADE'))
        await admin.dispose()


@asynccontextmanager
async def started(
    settings: S, build_app: Callable[[S], FastAPI], migrations: Path
) -> AsyncIterator[Running[S]]:
    """A migrated service running in-process, with a client that calls it."""
    async with own_schema(settings):
        await asyncio.to_thread(upgrade, settings, migrations)
        app = build_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            base_url = f"http://{settings.service.replace('_', '-')}"
            async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
                yield Running(client, DevIssuer(settings.dev_key_path), settings, app)


def token_role(caller: str) -> str:
    """The role a test's token carries for a column of the access matrix (its ``department:*``
    column: one department)."""
    return "department:health" if caller == ANY_DEPARTMENT else caller


MATRIX_INSIDE: Mapping[str, Sequence[str]] = {
    "grid_worker": ["320111001-001-001"], "community_staff": ["320111001-001"],
    "subdistrict_admin": ["320111001"], ANY_DEPARTMENT: ["320111001"],
    "hotline_system": ["320111001"], "trainer": ["320111001"], "analyst": ["320111001"],
    "operator": ["320111001"],
}  # fmt: skip
"""Each column's places in an access-matrix test, all holding its records (grid 320111001-001-001
of subdistrict 320111001)."""

MATRIX_OUTSIDE: Mapping[str, Sequence[str]] = {
    "grid_worker": ["320111001-001-002"], "community_staff": ["320111001-002"],
    "subdistrict_admin": ["320111002"],
}  # fmt: skip
"""Places beside those of :data:`MATRIX_INSIDE` that hold none of the records, for the roles
whose scope is a place."""


def matrix_headers(
    service: Running[Any],
    caller: str,
    places: Mapping[str, Sequence[str]] = MATRIX_INSIDE,
    subject: str | None = None,
) -> dict[str, str]:
    """Headers of a caller in a column of the access matrix, in its ``places``."""
    headers: dict[str, str] = service.as_(
        token_role(caller), places=places[caller], subject=subject
    )
    return headers


async def every_role_as_the_matrix_says(
    route: APIRoute,
    call: Callable[[Mapping[str, str]], Awaitable[httpx.Response]],
    headers_of: Callable[[str], Mapping[str, str]],
    *,
    open_route: bool = False,
) -> None:
    """Call ``route`` with no token (401, unless the route is open to all) and as each role of the
    access matrix (``call(headers_of(caller))``: with an empty body, which passes the role check
    and is refused for its content, so the sweep changes nothing): a role the route lets through
    is neither refused (401, 403) nor told the record is not there (404); every other role gets
    403."""
    if not open_route:
        assert declared_roles(route), f"{key_of(route)} declares no roles"
    anonymous = await call({})
    assert (anonymous.status_code == 401) != open_route, (key_of(route), anonymous.text)
    let_through = allowed(route)
    for caller in CALLERS:
        response = await call(headers_of(caller))
        if caller in let_through:
            assert response.status_code not in (401, 403, 404), (caller, response.text)
        else:
            assert response.status_code == 403, (caller, response.text)


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` (already started: its lifespan is the caller's) served on a free loopback port;
    its base URL: for what calls a service over the network (a browser, a command run as a
    process)."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


Scraped = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""One scrape of ``/metrics``: each sample's value by its name and labels."""


async def scraped(client: httpx.AsyncClient) -> Scraped:
    """``/metrics`` read as Prometheus 2 reads it (text format, no token)."""
    from prometheus_client.parser import text_string_to_metric_families

    accept = {"Accept": "text/plain;version=0.0.4;q=1,*/*;q=0.1"}
    response = await client.get("/metrics", headers=accept)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def sample(samples: Scraped, name: str, **labels: str) -> float:
    """A sample's value in a scrape; 0 when absent (a labelled counter not yet incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
