"""The app factory: one FastAPI app per service, its resources owned by the lifespan.

The lifespan makes the engine and the event store, starts the outbox relay when Kafka is
configured, and runs the service's projections (from Kafka, or from the event table in embedded
mode); everything stops with the app. Nothing is created at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import json
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import Catalogue, default_catalogue
from wangge.events.core import ServiceCore
from wangge.events.db import create_engine
from wangge.events.faults import is_outage
from wangge.events.kafka import describe_topic, ensure_topics, topic_for
from wangge.events.parking import parked_counts
from wangge.events.projection import Projection, ProjectionRunner
from wangge.events.relay import OutboxRelay
from wangge.events.runner_state import GenerationMemo
from wangge.events.sources import KafkaSource, MergedSource, Source, StoreSource
from wangge.events.store import EventStore, open_store
from wangge.events.supervision import Healthy, Supervised, Work, supervise
from wangge.events.telemetry import tracing_enabled
from wangge.events.tuning import INLINE_LINGER_SECONDS, LINGER_SECONDS
from wangge.service import health, metrics
from wangge.service.auth import TokenVerifier
from wangge.service.devissuer import DevIssuer
from wangge.service.limits import BodyLimit
from wangge.service.migrations import newer_than_scripts, revision_gap
from wangge.service.problems import install_problem_handlers
from wangge.service.responses import document_problems
from wangge.service.settings import ServiceSettings
from wangge.service.telemetry import instrument

log = logging.getLogger(__name__)


@dataclass
class ServiceState:
    """What the routes of a running service use (``request.app.state.service``)."""

    settings: ServiceSettings
    engine: AsyncEngine
    store: EventStore
    generations: GenerationMemo
    """The active generation of each read model, as the engine's readers and the runners know it
    (the engine carries it: ``active_tables`` finds it from a connection)."""
    core: ServiceCore
    """The service below HTTP: its store, read models and reactions, and what its handlers need
    (the service's ``bootstrap`` made it)."""
    relay: OutboxRelay | None = None
    runners: list[ProjectionRunner] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    upstream: dict[str, EventStore] = field(default_factory=dict)
    """Other services' event stores, read in embedded mode by projections of their events."""
    workers: list[Supervised] = field(default_factory=list)
    """The health of every background worker (relay, runners, the service's own loops)."""

    def run_supervised(self, name: str, work: Work, *, reports_progress: bool = True) -> None:
        """Run ``work`` in the background until the service stops, restarted after any error.

        A worker that reports its progress (calls the callback it gets after each unit of work)
        is healthy again at its first unit after a restart; one that does not, after it has run
        for a while without failing.
        """
        health = Supervised(name, healthy_after=math.inf) if reports_progress else Supervised(name)
        self.workers.append(health)
        task = asyncio.create_task(supervise(work, self.stop, health=health), name=name)
        self.tasks.append(task)

    @property
    def projections(self) -> Mapping[str, Projection]:
        """The service's projections by name."""
        return self.core.by_name

    def service_projection(self, name: str) -> Projection:
        """One of the service's projections, by name."""
        return self.core.projection(name)


Bootstrap = Callable[[EventStore], ServiceCore]
"""A service's composition root below HTTP: its core on a store (settings bound beforehand)."""

Worker = Callable[["ServiceState"], Awaitable[None]]
"""A service's own background work (a delivery loop, a sweeper): runs until ``state.stop``."""


async def _start(
    settings: ServiceSettings,
    catalogue: Catalogue,
    bootstrap: Bootstrap,
    migrations: Path | None,
    workers: Mapping[str, Worker],
) -> ServiceState:
    generations = GenerationMemo()
    engine = create_engine(
        settings.resolved_database_url, generations=generations, **settings.engine_options()
    )
    store = open_store(engine, service=settings.service, catalogue=catalogue)
    if migrations is None and settings.environment != "production":
        # without migration scripts (tests, the demo) dev and test create missing tables; a
        # service with scripts is migrated by its own step, and /readyz says if it was not
        await store.create_schema()
    core = bootstrap(store)
    state = ServiceState(
        settings=settings, engine=engine, store=store, generations=generations, core=core
    )
    kafka = settings.kafka_bootstrap_servers
    made = list(core.projections)
    sources = [_source(projection, state, catalogue) for projection in made]  # before any task
    topic = topic_for(settings.service, settings.kafka_namespace)
    if kafka:
        upstream = {s for p in made for s in p.reads if s != settings.service}
        # another service's topic may not exist yet: made here with the same partition count
        topics = [topic, *(topic_for(s, settings.kafka_namespace) for s in sorted(upstream))]
        try:
            await ensure_topics(kafka, topics, partitions=settings.kafka_partitions)
        except Exception as error:
            if not is_outage(error):
                raise
            # the relay and the consumers make them once the broker is back
            log.warning("Kafka is out of reach at start-up (%s); going on", type(error).__name__)
    if kafka and settings.relay_in_process:
        relay = state.relay = OutboxRelay(store, bootstrap_servers=kafka, topic=topic)
        partitions = settings.kafka_partitions

        async def publish(healthy: Healthy) -> None:
            # the topic is made here as well: the broker may have been gone at start-up
            await ensure_topics(kafka, [topic], partitions=partitions)
            await relay.run(state.stop, healthy)

        state.run_supervised("relay", publish)
    for projection, source in zip(made, sources, strict=True):
        # from Kafka, a projection may have several consumers in the group (one source each)
        many = projection.consumers if isinstance(source, KafkaSource) else 1
        for n in range(many):
            runner = ProjectionRunner(
                projection,
                engine=engine,
                source=source if n == 0 else _source(projection, state, catalogue),
                lock=store,
                linger_seconds=_linger(projection),
                generations=state.generations,
            )
            await runner.setup()
            state.runners.append(runner)
            state.run_supervised(
                f"projection {projection.name}" + (f" ({n + 1})" if n else ""),
                functools.partial(runner.run, state.stop),
            )
    for name, work in workers.items():
        state.run_supervised(name, _ignoring_progress(work, state), reports_progress=False)
    return state


def _ignoring_progress(work: Worker, state: ServiceState) -> Work:
    async def run(_: Healthy) -> None:
        await work(state)

    return run


def _linger(projection: Projection) -> float:
    if projection.linger_seconds is not None:
        return projection.linger_seconds
    return INLINE_LINGER_SECONDS if projection.inline else LINGER_SECONDS


def _source(projection: Projection, state: ServiceState, catalogue: Catalogue) -> Source:
    """Where a projection reads: its services' topics, or in embedded mode their event tables
    (an inline projection always reads the service's own table)."""
    settings = state.settings
    services = projection.reads or (settings.service,)
    kafka = settings.kafka_bootstrap_servers
    if projection.inline:
        # its commands applied nearly every event already: an idle one asks for new events as
        # often as a busy one gathers them, not twenty times a second
        return StoreSource(state.store, idle_seconds=INLINE_LINGER_SECONDS)
    if kafka:
        return KafkaSource(
            kafka,
            [topic_for(s, settings.kafka_namespace) for s in services],
            group_id=f"{settings.kafka_namespace}.{settings.service}.{projection.name}",
            partitions=settings.kafka_partitions,
        )
    sources: list[Source] = []
    for service in services:
        if service == settings.service:
            sources.append(StoreSource(state.store))
            continue
        if service not in state.upstream:
            url = settings.upstream_database_url(service)
            if url is None:
                message = (
                    f"projection {projection.name} reads the {service} service's events, but "
                    "neither Kafka nor WANGGE_UPSTREAM_DATABASE_URLS says where they are"
                )
                if settings.environment == "production":
                    raise ValueError(message)
                log.warning("%s: it stays empty", message)
                continue
            engine = create_engine(url)
            state.upstream[service] = open_store(engine, service=service, catalogue=catalogue)
        sources.append(StoreSource(state.upstream[service], key=f"store:{service}"))
    return sources[0] if len(sources) == 1 else MergedSource(sources)


async def _stop(state: ServiceState) -> None:
    state.stop.set()
    for task in state.tasks:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=10)
    for upstream in state.upstream.values():
        await upstream.close()
    await state.engine.dispose()


def _readiness_checks(
    app: FastAPI, migrations: Path | None, *, kafka_configured: bool
) -> dict[str, health.ReadinessCheck]:
    def service() -> ServiceState:
        state: ServiceState = app.state.service
        return state

    async def database() -> dict[str, Any]:
        async with service().engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        return {"backend": service().engine.dialect.name}

    async def workers() -> dict[str, Any]:
        state = service()
        failing = {w.name: w.detail() for w in state.workers if not w.ok}
        if failing:
            # restarting on their own (a dependency is back within seconds of its return)
            raise RuntimeError("; ".join(f"{name}: {why}" for name, why in failing.items()))
        # side by side, each within LAG_SECONDS: a busy machine answers the check late but
        # within its limit, with what could not be read in time as unknown
        lag, parked = await asyncio.gather(projection_lag(state.runners), parked_now(state))
        detail: dict[str, Any] = {
            "status": "degraded" if parked else "running",
            "relay": state.relay is not None,
            "projection_lag": lag,
        }
        if parked:
            # a stream waits behind an event a handler could not apply; every other flows
            detail["parked"] = parked
        elif parked is None:
            detail["parked"] = "unknown"
        return detail

    async def migrated() -> dict[str, Any]:
        assert migrations is not None
        revision, head = await revision_gap(service().engine, migrations)
        if revision is not None and revision != head and newer_than_scripts(migrations, revision):
            # the next release migrated before its pods replace these: migrations add and
            # never take away in the same release (expand, then contract a release later), so
            # this code still works on that schema, and taking every old pod out of its load
            # balancer would make each rollout an outage
            return {"revision": revision, "scripts": head, "newer": True}
        if revision != head:
            raise RuntimeError(f"the database is at {revision}, the scripts at {head}")
        return {"revision": revision}

    async def kafka() -> dict[str, Any]:
        settings = service().settings
        assert settings.kafka_bootstrap_servers
        topic = topic_for(settings.service, settings.kafka_namespace)
        async with asyncio.timeout(5):
            partitions = await describe_topic(settings.kafka_bootstrap_servers, topic)
        return {"topic": topic, "partitions": partitions}

    checks: dict[str, health.ReadinessCheck] = {"database": database, "workers": workers}
    if migrations is not None:
        checks["migrations"] = migrated
    if kafka_configured:
        checks["kafka"] = kafka
    return checks


LAG_SECONDS = 1.0
"""How long ``/readyz`` waits for a runner's lag (Kafka end offsets, a count on the table)."""


async def parked_now(state: ServiceState) -> dict[str, int] | None:
    """Events parked now, by projection; None when they could not be counted within
    :data:`LAG_SECONDS` (information, like a lag: a slow count must not fail readiness)."""
    if not state.runners:  # no runner, no table (their setup makes it)
        return {}
    try:
        async with asyncio.timeout(LAG_SECONDS), state.engine.connect() as conn:
            return await parked_counts(conn)
    except TimeoutError:
        return None


async def projection_lag(runners: Sequence[ProjectionRunner]) -> dict[str, int | None]:
    """Events each projection has still to apply, its consumers' lags added up (each holds some
    partitions); None where a lag could not be had in time. Lag is information, not readiness:
    a consumer group rebalancing, or a busy broker, must not take a working service out of a
    load balancer, so a lag that does not come is reported unknown, not failed."""

    async def one(runner: ProjectionRunner) -> int | None:
        try:
            async with asyncio.timeout(LAG_SECONDS):
                return await runner.lag()
        except Exception:
            return None

    found = await asyncio.gather(*(one(runner) for runner in runners))
    lag: dict[str, int | None] = {}
    for runner, behind in zip(runners, found, strict=True):
        name = runner.projection.name
        known = lag.get(name, 0)
        lag[name] = None if behind is None or known is None else known + behind
    return lag


def _bare(store: EventStore) -> ServiceCore:
    """A service with no read models (the kit's samples)."""
    return ServiceCore(store, ())


def _token_verifier(settings: ServiceSettings) -> TokenVerifier:
    if settings.auth_jwks_file is not None:
        jwks = json.loads(settings.auth_jwks_file.read_text())
    else:
        jwks = DevIssuer(settings.dev_key_path).jwks()
    return TokenVerifier(issuer=settings.auth_issuer, audience=settings.auth_audience, jwks=jwks)


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str = "",
    version: str = "0.1.0",
    routers: Sequence[APIRouter] = (),
    catalogue: Catalogue = default_catalogue,
    bootstrap: Bootstrap | None = None,
    migrations: Path | None = None,
    workers: Mapping[str, Worker] | None = None,
    gauges: Sequence[metrics.Gauges] = (),
) -> FastAPI:
    """A service's FastAPI app: problem details (each documented where it can happen), a body
    limit, health, Prometheus metrics (with the service's own ``gauges``), the given routers, a
    managed lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.token_verifier = _token_verifier(settings)
        app.state.service = await _start(
            settings, catalogue, bootstrap or _bare, migrations, workers or {}
        )
        if gc.get_freeze_count():
            # a served process froze what it loaded (``serve``); what starting made (the engine,
            # runners, relay, tables' metadata) lives as long: out of the full passes too, which
            # otherwise stalled requests for 50-120 ms
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await _stop(app.state.service)

    # /docs and /redoc from the package's own copies of their scripts, never a CDN: a
    # government network (政务内网) reaches none, and the page would be blank
    app = FastAPIOffline(title=title, description=description, version=version, lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(metrics.HttpMetrics, service=settings.service)  # outermost: times it all
    if tracing_enabled():
        instrument(app)  # else serve() does, once it installs a provider
    app.state.readiness_checks = _readiness_checks(
        app, migrations, kafka_configured=bool(settings.kafka_bootstrap_servers)
    )
    from wangge.service import admin  # its routes' dependencies import this module

    app.include_router(health.router)
    app.include_router(metrics.router(gauges))
    app.include_router(admin.router)
    for router in routers:
        app.include_router(router)
    document_problems(app, max_body_bytes=settings.max_body_bytes)
    return app
