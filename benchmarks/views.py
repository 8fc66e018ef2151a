"""The views service (一网统管): every view rebuilt from Kafka, its reads under load, freshness.

**Rebuild** (``views``): the full synthetic subdistrict's year is written to four stores, one
PostgreSQL schema each: the registry's full census (as the metrics bench builds it), a year of
12345 tickets, a year of cases (a complaint case per ticket: opened for the grid's worker,
accepted, resolved, closed; and care plans with weekly visits for residents tagged elderly
living alone), and a year of training for the registry's workers. Each store is published to its
topic by ``OutboxRelay`` (a namespace of the bench's own, 12 partitions as the services make
them). "Raw" is one aiokafka consumer (manually assigned, no group) reading every record of a
view's topics from the beginning to the end offsets, counting them; the fastest of
``BENCH_RUNS``. Each view is then rebuilt as the service would: a ``ProjectionRunner`` over a
``KafkaSource`` of its topics (group ``<namespace>.views.<view>``) into a fresh generation until
it has applied everything up to the end offsets; its rate is the records of its topics over
that time (a runner reads every record of its topics, applying the types it handles; a view
whose services never share a row applies its topics side by side, one process per core, ADR 0009).

**Reads** (also ``views``): the views' schema is vacuumed and analysed as an operator does after a
rebuild (``settle``; else autovacuum does it under the load), then the views service runs as its
own process on it (its runners resume from the offsets kept with the rows), and 50 open-loop
clients send 4 requests a second each for ``BENCH_VIEWS_SECONDS``: half
``GET /residents/{person_id}`` for random registered people, half ``GET /grids/{code}/dashboard``
for random grids, as a subdistrict admin. The service is let settle first (its warming renders
every area's dashboard once the rows stand still: until its processes are idle), then the load
runs as a warm-up until one second's dashboards were all answers the service kept
(``Server-Timing: kept``), and what a dashboard computed on a read cost meanwhile is reported
apart; then latency per endpoint, failures, and CPU per request (psutil) in the steady state.
The load generator's garbage collector is off while it measures (its own pauses would be timed
as the service's).

**Freshness** (``views_fresh``): the hotline bench's intake flow (registry, hotline bridge and
cases as processes on PostgreSQL and Kafka; signed pushes at ``BENCH_HOTLINE_RATE`` for
``BENCH_HOTLINE_SECONDS``) with the views service beside them; from a push's send to its ticket's
row, with its grid, in the dashboard's tickets table (polled every 50 ms for the tickets not yet
seen; the load generator's collector off from the first push to the last ticket seen); and the
month's ticket count through ``GET /grids/{code}/dashboard`` before and after.

Knobs: ``BENCH_REGISTRY_SIZE`` (``full``), ``BENCH_HOTLINE_YEAR_TICKETS`` (20,000),
``BENCH_VIEWS_CARE_PLANS`` (300), ``BENCH_VIEWS_SECONDS`` (20), ``BENCH_VIEWS_REBUILDS`` (1:
rebuilds per view, the fastest reported), ``BENCH_VIEWS_WORKERS`` (the views service's server
processes under load: one per core).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil  # type: ignore[import-untyped]
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import (
    Measurement,
    Schemas,
    Settings,
    no_collector_pauses,
    schema_engine,
    settle,
)
from benchmarks.hotline import (
    TICKETS_PER_YEAR,
    YEAR,
    _Cpu,
    _free_port,
    _percentile,
    _ready,
    _wait,
    _year_of_tickets,
    full_census,
    running_flow,
)
from benchmarks.raw_read import raw_read
from wangge.cases.app import MIGRATIONS as CASES_MIGRATIONS
from wangge.cases.config import CasesSettings
from wangge.cases.domain import care, cases
from wangge.cases.domain.upstream import TicketBrief, ticket_routed
from wangge.events import DomainEvent
from wangge.events.envelope import START
from wangge.events.kafka import ensure_topics, make_producer, topic_for
from wangge.events.projection import Projection, ProjectionRunner, active_tables
from wangge.events.relay import OutboxRelay
from wangge.events.sealed import sealer
from wangge.events.sources import KafkaSource
from wangge.events.store import EventStore, StreamAppend, open_store
from wangge.hotline_bridge.app import MIGRATIONS as HOTLINE_MIGRATIONS
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.domain import tickets
from wangge.service.devissuer import DevIssuer
from wangge.service.migrations import upgrade
from wangge.training.app import MIGRATIONS as TRAINING_MIGRATIONS
from wangge.training.config import TrainingSettings
from wangge.training.synthetic import year_of_training
from wangge.views.app import MIGRATIONS as VIEWS_MIGRATIONS
from wangge.views.bootstrap import bootstrap as views_core
from wangge.views.config import ViewsSettings
from wangge.views.domain.clock import DayClosed, stream_id
from wangge.views.projections.dashboard import Dashboard

BATCH = 2000
"""Records per runner batch, as the other rebuild benches use."""
PARTITIONS = 12
"""Partitions per topic: the services' default (``kafka_partitions``)."""
UPSTREAM = ("registry", "cases", "hotline_bridge", "training")
CARE_PLANS = int(os.environ.get("BENCH_VIEWS_CARE_PLANS", "300"))
LOAD_SECONDS = float(os.environ.get("BENCH_VIEWS_SECONDS", "20"))
REBUILDS = int(os.environ.get("BENCH_VIEWS_REBUILDS", "1"))
SERVER_WORKERS = int(os.environ.get("BENCH_VIEWS_WORKERS", str(os.cpu_count() or 1)))
"""Server processes of the views service under load (one per core, as the registry's bench)."""
CLIENTS = 50
PER_CLIENT = 4.0
"""Requests a second per client: 50 x 4 = 200 requests/s, open loop."""
WARM_UP_SECONDS = 3.0
WARM_UP_LIMIT_SECONDS = 60.0
WARM_LOOK_SECONDS = ViewsSettings.model_fields["dashboards_warm_seconds"].default
POLL_SECONDS = 0.05
SUBDISTRICT = "320111001"

RAW_TARGET = 0.30
"""A view's rebuild rate against the raw read of its topics: at least this."""
READ_P99_MS = 50.0
FRESH_P99_MS = 1000.0


# -- the year ----------------------------------------------------------------------------------


def _fold(
    evolve: Callable[[Any, DomainEvent, int], Any], state: Any, version: int, new: list[DomainEvent]
) -> tuple[Any, int]:
    for event in new:
        version += 1
        state = evolve(state, event, version)
    return state, version


def _year_of_cases(
    ticket_years: Sequence[StreamAppend], workers: dict[uuid.UUID, tuple[uuid.UUID, str]]
) -> list[StreamAppend]:
    """Each ticket's complaint case, as the cases service's reaction opens it (for the grid's
    worker) and its worker takes it through: accepted, resolved at source, closed."""
    appends = []
    for year in ticket_years:
        received = next(e for e in year.events if isinstance(e, tickets.TicketReceived))
        routed = next(e for e in year.events if isinstance(e, tickets.TicketRoutedToGrid))
        case_id = cases.case_for(f"ticket:{received.ticket_id}")
        worker = workers.get(routed.grid_id)
        brief = TicketBrief(
            received.ticket_number, received.category_name, received.content, received.deadline
        )
        events = ticket_routed(
            None, case_id=case_id, ticket_id=received.ticket_id, grid_id=routed.grid_id,
            brief=brief, worker=worker,
        )  # fmt: skip
        state, version = _fold(cases.evolve, None, 0, events)
        if worker is not None:
            account = worker[1]
            steps: list[Callable[[cases.Case], list[DomainEvent]]] = [
                lambda c: cases.accept(c, account=account),  # noqa: B023 - called at once
                lambda c: cases.resolve(
                    c, resolution="已处理", solved=True, at_source=True, seal=None
                ),
                lambda c: cases.close(c, None, seal=None),
            ]
            for step in steps:
                new = step(state)
                state, version = _fold(cases.evolve, state, version, new)
                events += new
        appends.append(StreamAppend(cases.stream_id(case_id), events, 0))
    return appends


def _care_plans(
    elderly: Sequence[Any], workers: dict[uuid.UUID, tuple[uuid.UUID, str]], seed: int = 17
) -> list[StreamAppend]:
    """A weekly health check for each of ``elderly`` (person_id, name_masked, grid_id) through
    the year; about one week in ten is missed, and one plan in ten ends in the autumn."""
    rng = random.Random(seed)
    appends = []
    start = date(YEAR, 1, 5)
    for person in elderly:
        plan_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        account = workers[person.grid_id][1] if person.grid_id in workers else "worker-unknown"
        events = care.start(
            plan_id=plan_id, resident=str(person.person_id), resident_masked=person.name_masked,
            grid_id=person.grid_id, kind=care.CareKind.HEALTH_CHECK, every_days=7,
            worker_account=account, starts_on=start, note="",
            seal=sealer(os.urandom(32), plan_id),
        )  # fmt: skip
        plan, version = _fold(care.evolve, None, 0, events)
        ends = date(YEAR, 10, 1) if rng.random() < 0.1 else None
        day = start
        while day <= date(YEAR, 12, 31) and (ends is None or day < ends):
            if rng.random() >= 0.1:
                new = care.record_visit(
                    plan, visit_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                    visited_on=day, today=day, by=account, note="", measurements=None, seal=None,
                )  # fmt: skip
                plan, version = _fold(care.evolve, plan, version, new)
                events += new
            day += timedelta(days=7)
        if ends is not None:
            new = care.end(plan, ended_on=ends, reason="搬离本社区", seal=None)
            plan, version = _fold(care.evolve, plan, version, new)
            events += new
        appends.append(StreamAppend(care.stream_id(plan_id), events, 0))
    return appends


async def _write(store: EventStore, appends: Sequence[StreamAppend], chunk: int = 500) -> int:
    for start in range(0, len(appends), chunk):
        async with store.begin() as conn:
            await store.append_batch(appends[start : start + chunk], connection=conn)
    return sum(len(a.events) for a in appends)


async def _publish(store: EventStore, kafka: str, topic: str) -> tuple[int, float]:
    """Relay a store to its topic, as ``OutboxRelay.run`` does; events and seconds."""
    relay = OutboxRelay(store, bootstrap_servers=kafka, topic=topic)
    producer = make_producer(kafka)
    await producer.start()
    started = time.perf_counter()
    try:
        checkpoint, count = START, 1
        while count:
            checkpoint, count = await relay.publish_batch(producer, checkpoint)
    finally:
        await producer.stop()
    return relay.published, time.perf_counter() - started


@dataclass
class _Year:
    """The year written and published: the views' schema and the namespace its topics are in."""

    namespace: str
    views_schema: str
    data_dir: Path
    events: dict[str, int]
    """Records per service's topic."""
    persons: list[str]
    grid_codes: list[str]


async def _the_year(
    settings: Settings, schemas: Schemas, log: Callable[[str], None]
) -> tuple[_Year, list[AsyncEngine]]:
    """Write the four stores, publish them, and migrate an empty views schema."""
    data_dir = Path(tempfile.mkdtemp(prefix="wangge-bench-"))
    names = {p: await schemas.new(p) for p in ("reg", "cas", "hot", "trn", "vws")}
    census = await full_census(settings, names["reg"], data_dir, log)
    engines = [census.engine]
    async with census.engine.connect() as conn:
        workers = {
            r.grid_id: (r.worker_id, r.account)
            for r in await conn.execute(
                sa.text(
                    "SELECT w.worker_id, w.account, a.grid_id FROM registry_workers_g1 w "
                    "JOIN registry_appointments_g1 a USING (worker_id) ORDER BY w.account"
                )
            )
        }
        elderly = (
            await conn.execute(
                sa.text(
                    "SELECT p.person_id, p.name_masked, d.grid_id FROM registry_person_tags_g1 t "
                    "JOIN registry_persons_g1 p USING (person_id) "
                    "JOIN registry_places_g1 d ON d.place_id = p.dwelling_id "
                    "WHERE t.tag = 'elderly_living_alone' AND t.ended_on IS NULL "
                    "AND d.grid_id IS NOT NULL ORDER BY p.person_id LIMIT :n"
                ),
                {"n": CARE_PLANS},
            )
        ).all()
        persons = [
            str(p)
            for p in await conn.scalars(
                sa.text(
                    "SELECT person_id FROM registry_persons_g1 "
                    "WHERE merged_into IS NULL AND NOT erased AND dwelling_id IS NOT NULL"
                )
            )
        ]
        grid_codes = list(
            await conn.scalars(sa.text("SELECT code FROM registry_places_g1 WHERE kind = 'grid'"))
        )
    stores = {"registry": open_store(census.engine, service="registry")}
    for service, prefix, config, scripts in (
        ("cases", "cas", CasesSettings, CASES_MIGRATIONS),
        ("hotline_bridge", "hot", HotlineSettings, HOTLINE_MIGRATIONS),
        ("training", "trn", TrainingSettings, TRAINING_MIGRATIONS),
    ):
        made = config(
            environment="test", database_url=settings.database_url,
            database_schema=names[prefix], data_dir=data_dir, kafka_bootstrap_servers=None,
        )  # fmt: skip
        await asyncio.to_thread(upgrade, made, scripts)
        engine = schema_engine(settings, names[prefix])
        engines.append(engine)
        stores[service] = open_store(engine, service=service)
    ticket_year = _year_of_tickets(census.dwellings, TICKETS_PER_YEAR)
    written = {
        "hotline_bridge": await _write(stores["hotline_bridge"], ticket_year),
        "cases": await _write(
            stores["cases"],
            _year_of_cases(ticket_year, workers) + _care_plans(elderly, workers),
        ),
        "training": await _write(
            stores["training"],
            year_of_training(
                sorted({w for w, _ in workers.values()}, key=str), ends_on=date(YEAR, 12, 31)
            ),
        ),
    }
    log(f"   a year: {len(ticket_year):,} tickets and their cases, {len(elderly):,} care plans, "
        f"{len(workers):,} workers' training; " + ", ".join(
            f"{service} {count:,}" for service, count in written.items()) + " events")  # fmt: skip
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    topics = {service: topic_for(service, namespace) for service in UPSTREAM}
    await ensure_topics(settings.kafka, topics.values(), partitions=PARTITIONS)
    events: dict[str, int] = {}
    for service, store in stores.items():
        count, seconds = await _publish(store, settings.kafka, topics[service])
        events[service] = count
        log(f"   relayed {service}: {count:,} events in {seconds:.1f} s")
    views = ViewsSettings(
        environment="test", database_url=settings.database_url,
        database_schema=names["vws"], data_dir=data_dir, kafka_bootstrap_servers=settings.kafka,
        kafka_namespace=namespace,
    )  # fmt: skip
    await asyncio.to_thread(upgrade, views, VIEWS_MIGRATIONS)
    # the views' own log: the year's days closed, one by one, as its clock closes them (the feeds
    # judge missed care visits on each), published to its topic like the others
    clock = open_store(schema_engine(settings, names["vws"]), service="views")
    day = date(YEAR, 1, 1)
    while day <= date(YEAR, 12, 31):
        await clock.append(stream_id(day), [DayClosed(day=day)], expected_version=0)
        day += timedelta(days=1)
    topics["views"] = topic_for("views", namespace)
    await ensure_topics(settings.kafka, [topics["views"]], partitions=PARTITIONS)
    events["views"], seconds = await _publish(clock, settings.kafka, topics["views"])
    log(f"   relayed views (its clock): {events['views']:,} events in {seconds:.1f} s")
    await clock.engine.dispose()
    year = _Year(namespace, names["vws"], data_dir, events, persons, grid_codes)
    return year, engines


# -- raw read and rebuilds ---------------------------------------------------------------------


async def _rebuild(
    projection: Projection, engine: AsyncEngine, kafka: str, namespace: str
) -> float:
    """Seconds to rebuild ``projection`` from its topics into a fresh generation, swapped in."""
    source = KafkaSource(
        kafka,
        [topic_for(service, namespace) for service in projection.reads],
        group_id=f"{namespace}.views.{projection.name}",
        partitions=PARTITIONS,
    )
    runner = ProjectionRunner(projection, engine=engine, source=source, batch_size=BATCH)
    started = time.perf_counter()
    await runner.rebuild()
    return time.perf_counter() - started


# -- the service under load ----------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _views_process(
    settings: Settings, year: _Year
) -> AsyncIterator[tuple[int, asyncio.subprocess.Process]]:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "WANGGE_DATABASE_SCHEMA": year.views_schema,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka,
        "WANGGE_KAFKA_NAMESPACE": year.namespace,
        "WANGGE_DATA_DIR": str(year.data_dir),
        "WANGGE_ENVIRONMENT": "test",
        "WANGGE_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "wangge"), "views", "run", "--port", str(port),
        "--workers", str(SERVER_WORKERS), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _ready(port, 300)
        yield port, process
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)


async def _caught_up(port: int) -> bool:
    """Whether every view of the service on ``port`` reports no lag (``/readyz``)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/readyz") as response,
    ):
        body = await response.json()
    lag = body.get("checks", {}).get("workers", {}).get("detail", {})
    found = lag.get("projection_lag") if isinstance(lag, dict) else None
    return isinstance(found, dict) and bool(found) and all(v == 0 for v in found.values())


Request = tuple[str, Callable[[random.Random], str]]


@dataclass
class _Answers:
    """What an open loop measured: latencies (ms) by request name, failures (not 200, or no
    answer) by status or error, and how long each answer the service computed for the read
    took it (ms, from ``Server-Timing: computed;dur=``; a kept answer says ``kept``)."""

    latencies: dict[str, list[float]]
    failures: dict[str, int] = field(default_factory=dict)
    computed: list[float] = field(default_factory=list)


async def _open_loop(
    session: aiohttp.ClientSession, seconds: float, requests: Sequence[Request]
) -> _Answers:
    """CLIENTS clients, each sending PER_CLIENT requests a second on a schedule (open loop: a
    slow answer delays no later request), each request one of ``requests`` at random."""
    answers = _Answers({name: [] for name, _ in requests})
    latencies, failures = answers.latencies, answers.failures
    interval = 1 / PER_CLIENT
    begin = time.perf_counter()
    tasks: list[asyncio.Task[None]] = []

    async def one(name: str, url: str) -> None:
        started = time.perf_counter()
        try:
            async with session.get(url) as response:
                await response.read()
                timing = response.headers.get("Server-Timing", "")
                if timing.startswith("computed;dur="):
                    answers.computed.append(float(timing.removeprefix("computed;dur=")))
                if response.status != 200:
                    why = f"{name} {response.status}"
                    failures[why] = failures.get(why, 0) + 1
                    return
        except (aiohttp.ClientError, TimeoutError) as error:
            why = f"{name} {type(error).__name__}"
            failures[why] = failures.get(why, 0) + 1
            return
        latencies[name].append((time.perf_counter() - started) * 1000)

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        at = begin + rng.random() * interval  # clients do not start in step
        while at < begin + seconds:
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            name, url = rng.choice(requests)
            tasks.append(asyncio.create_task(one(name, url(rng))))
            at += interval

    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    await asyncio.gather(*tasks)
    return answers


async def _settled(pid: int, *, seconds: float = 2.0, below: float = 0.10) -> bool:
    """Whether every process of the service on ``pid`` (its supervisor and server processes)
    used under ``below`` of a core over ``seconds``: its warming has rendered every area. Asked
    of the processes themselves, since a read lands on whichever server accepts it."""
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]

    def used() -> list[float]:
        return [sum(p.cpu_times()[:2]) for p in processes]

    before = used()
    await asyncio.sleep(seconds)
    return all((b - a) / seconds < below for a, b in zip(before, used(), strict=True))


async def _warm_up(
    session: aiohttp.ClientSession, requests: Sequence[Request], log: Callable[[str], None]
) -> dict[str, Measurement]:
    """The load for WARM_UP_SECONDS, then on in one-second rounds until a round's dashboards
    were all kept answers (at most WARM_UP_LIMIT_SECONDS): what is measured after is the steady
    state, in which the service's warming has rendered every area. What a dashboard computed on
    a read cost is reported on its own."""
    started = time.perf_counter()
    computed = (await _open_loop(session, WARM_UP_SECONDS, requests)).computed
    while time.perf_counter() - started < WARM_UP_LIMIT_SECONDS:
        round_ = (await _open_loop(session, 1.0, requests)).computed
        computed += round_
        if not round_:
            break
    took = time.perf_counter() - started
    median = _percentile(computed, 50) if computed else 0.0
    log(f"   warm after {took:.0f} s: {len(computed):,} dashboards computed on a read meanwhile "
        f"(p50 {median:.0f} ms), the rest rendered by the service's warming")  # fmt: skip
    return {
        "vws_warm_s": Measurement("warm-up until every dashboard read is kept", "s", [took]),
        "vws_computed_p50": Measurement("dashboard computed on a read, p50", "ms", [median]),
    }


async def _reads(
    settings: Settings, year: _Year, log: Callable[[str], None]
) -> dict[str, Measurement]:
    results: dict[str, Measurement] = {}
    async with _views_process(settings, year) as (port, process):
        await _wait(lambda: _caught_up(port), "the views service resuming from its offsets")
        token = DevIssuer(year.data_dir / "dev-issuer.pem").issue(
            "bench-admin", roles=["subdistrict_admin"], places=[SUBDISTRICT]
        )
        requests: list[Request] = [
            ("resident", lambda r: f"/residents/{r.choice(year.persons)}"),
            ("dashboard", lambda r: f"/grids/{r.choice(year.grid_codes)}/dashboard"),
        ]
        async with aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            connector=aiohttp.TCPConnector(limit=256),
        ) as session:
            # the warming starts once the rows stood still over two looks; then it runs hot
            await asyncio.sleep(2 * WARM_LOOK_SECONDS + 1)
            await _wait(lambda: _settled(process.pid), "the views service warming its dashboards")
            results |= await _warm_up(session, requests, log)
            cpu = _Cpu({"views": process.pid})
            before = cpu.sample()
            with no_collector_pauses():
                measured = await _open_loop(session, LOAD_SECONDS, requests)
            after = cpu.sample()
        latencies, failed = measured.latencies, measured.failures
        if measured.computed:
            log(f"   {len(measured.computed)} dashboards computed on a read while measured "
                f"(p50 {_percentile(measured.computed, 50):.0f} ms)")  # fmt: skip
        served = sum(len(v) for v in latencies.values())
        failures = sum(failed.values())
        total, parts = _Cpu.per_ticket(before, after, served + failures)
        own = (after["views"] - before["views"]) * 1000 / max(served + failures, 1)
        for name, values in latencies.items():
            p50, p99 = _percentile(values, 50), _percentile(values, 99)
            log(f"   {name}: {len(values):,} answered, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
            results[f"vws_{name}_p50"] = Measurement(f"{name} p50", "ms", [p50])
            results[f"vws_{name}_p99"] = Measurement(f"{name} p99", "ms", [p99])
        rate = served / LOAD_SECONDS
        log(f"   {rate:,.0f} requests/s answered, {failures} failed {failed or ''}; CPU per "
            f"request: views {own:.1f} ms, all {total:.1f} ms ({parts})")  # fmt: skip
        results["vws_rate"] = Measurement("requests answered", "requests/s", [rate])
        results["vws_failed"] = Measurement(
            "failed requests", "requests", [float(failures)], note=str(failed or "")
        )
        results["vws_cpu"] = Measurement("views CPU per request", "ms", [own], note=parts)
    return results


# -- the benches ---------------------------------------------------------------------------------


Also = Callable[[Settings, "_Year", Callable[[str], None]], Awaitable[dict[str, Measurement]]]
"""A bench of the same year's service (the web dashboard's), run after these or instead."""


async def bench_views(
    settings: Settings, log: Callable[[str], None], *, rebuilds: bool = True,
    also: Also | None = None,
) -> dict[str, Measurement]:  # fmt: skip
    """Every view rebuilt from Kafka against a raw read; then the 360 and dashboard under load
    (unless ``rebuilds`` is False); then ``also`` on the same year."""
    schemas = Schemas(settings)
    engines: list[AsyncEngine] = []
    results: dict[str, Measurement] = {}
    year: _Year | None = None
    try:
        year, engines = await _the_year(settings, schemas, log)
        if not rebuilds and also is not None:  # the year's views are built by the service itself
            return await also(settings, year, log)
        engine = schema_engine(settings, year.views_schema)
        engines.append(engine)
        core = views_core(
            ViewsSettings(
                environment="test",
                database_url=settings.database_url,
                database_schema=year.views_schema,
                data_dir=year.data_dir,
            ),
            open_store(engine, service="views"),
        )
        views = [p for p in core.projections if p.reads]
        raw: dict[tuple[str, ...], tuple[int, float]] = {}
        for reads in sorted({tuple(sorted(p.reads)) for p in views}, key=len, reverse=True):
            topics = [topic_for(s, year.namespace) for s in reads]
            reads_ = [
                await raw_read(settings.kafka, topics, PARTITIONS) for _ in range(settings.runs)
            ]
            count, seconds = min(reads_, key=lambda run: run[1])
            assert count == sum(year.events[s] for s in reads), (count, reads)
            raw[reads] = (count, seconds)
            log(f"   raw read of {', '.join(reads)}: {count:,} records in {seconds:.2f} s "
                f"({count / seconds:,.0f}/s)")  # fmt: skip
        everything = raw[tuple(sorted(UPSTREAM))]
        results["vws_raw"] = Measurement(
            "raw aiokafka read, four topics", "records/s", [everything[0] / everything[1]]
        )
        took: dict[str, float] = {}
        records: dict[str, int] = {}
        for projection in views:
            reads = tuple(sorted(projection.reads))
            runs = [
                await _rebuild(projection, engine, settings.kafka, year.namespace)
                for _ in range(REBUILDS)
            ]
            took[projection.name], records[projection.name] = min(runs), raw[reads][0]
            rate = raw[reads][0] / min(runs)
            ratio = rate / (raw[reads][0] / raw[reads][1])
            log(f"   rebuild {projection.name}: {min(runs):.1f} s, {rate:,.0f} records/s, "
                f"{ratio:.2f}x its topics' raw read (target >= {RAW_TARGET:.2f}x)")  # fmt: skip
            results[f"vws_rebuild_{projection.name}"] = Measurement(
                f"rebuild {projection.name}", "records/s", [rate], note=f"{ratio:.2f}"
            )
            results[f"vws_raw_{projection.name}"] = Measurement(
                f"raw read of {projection.name}'s topics",
                "records/s",
                [raw[reads][0] / raw[reads][1]],
            )
        total_rate = sum(records.values()) / sum(took.values())
        total_raw = sum(records.values()) / sum(raw[tuple(sorted(p.reads))][1] for p in views)
        log(f"   every view: {sum(took.values()):.1f} s, {total_rate:,.0f} records/s, "
            f"{total_rate / total_raw:.2f}x raw")  # fmt: skip
        results["vws_rebuild_all"] = Measurement(
            "rebuild every view", "records/s", [total_rate], note=f"{sum(took.values()):.1f} s"
        )
        results["vws_raw_all"] = Measurement(
            "raw read, every view's topics", "records/s", [total_raw]
        )
        results["vws_records"] = Measurement(
            "records in the four topics", "records", [float(everything[0])]
        )
        started = time.perf_counter()
        await settle(settings, year.views_schema)
        log(f"   VACUUM ANALYZE and CHECKPOINT of the views' schema after the rebuilds: "
            f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        log("   the views service under 50 clients x 4 requests/s")
        results |= await _reads(settings, year, log)
        if also is not None:
            results |= await also(settings, year, log)
    finally:
        for engine in engines:
            await engine.dispose()
        await schemas.drop_all()
        if year is not None:
            await _delete_namespace(settings, year.namespace)
    return results


async def _delete_namespace(settings: Settings, namespace: str) -> None:
    if settings.keep:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(f"{namespace}.")]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


async def _dashboard_tickets(client: aiohttp.ClientSession, codes: Sequence[str]) -> dict[str, int]:
    """The current month's ticket count of each grid, through the API."""
    counts = {}
    for code in codes:
        async with client.get(f"/grids/{code}/dashboard") as response:
            body = await response.json()
            counts[code] = int(body["current"]["hotline"]["tickets"]) if response.ok else -1
    return counts


async def bench_views_fresh(
    settings: Settings, log: Callable[[str], None]
) -> dict[str, Measurement]:
    """Push -> the ticket in its grid's dashboard, with the intake flow at full rate."""
    from benchmarks.hotline import RATE, SECONDS

    results: dict[str, Measurement] = {}
    async with running_flow(settings, log, also=(("views", "vws"),)) as flow:
        port = flow.ports["views"]
        await _wait(lambda: _caught_up(port), "the views following the registry")
        engine = schema_engine(settings, flow.schemas["vws"])
        registry = schema_engine(settings, flow.schemas["reg"])
        try:
            async with registry.connect() as conn:
                codes = list(
                    await conn.scalars(
                        sa.text("SELECT code FROM registry_places_g1 WHERE kind = 'grid' LIMIT 5")
                    )
                )
            token = DevIssuer(flow.data_dir / "dev-issuer.pem").issue(
                "bench-admin", roles=["subdistrict_admin"], places=[SUBDISTRICT]
            )
            async with aiohttp.ClientSession(
                base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
            ) as client:
                before = await _dashboard_tickets(client, codes)
                load = flow.load()
                seen: dict[str, float] = {}
                stop = asyncio.Event()
                # a ticket is seen at its poll's start: a collector pause of ours before a
                # poll would be timed as the views' lag
                with no_collector_pauses():
                    poller = asyncio.create_task(_poll(engine, lambda: load.sent, seen, stop))
                    outcome = await load.phase(RATE, SECONDS, log)
                    sent = dict(load.sent)

                    async def every() -> bool:
                        return seen.keys() >= sent.keys()

                    try:
                        await _wait(every, "every pushed ticket in the dashboard", seconds=120)
                    except RuntimeError as error:
                        log(f"   {error}: {len(sent) - len(seen.keys() & sent.keys()):,} not seen")
                    finally:
                        stop.set()
                        await poller
                after = await _dashboard_tickets(client, codes)
        finally:
            await engine.dispose()
            await registry.dispose()
    latencies = [(seen[n] - sent[n]) * 1000 for n in sent if n in seen]
    unseen = sum(1 for n in sent if n not in seen)
    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
    moved = sum(1 for c in codes if after[c] > before[c] >= 0)
    most = max(latencies, default=float("nan"))
    log(f"   push -> ticket in its grid's dashboard: p50 {p50:,.0f} ms, p99 {p99:,.0f} ms, max "
        f"{most:,.0f} ms, {unseen} not seen; the month's tickets moved in {moved} of "
        f"{len(codes)} grids read through the API ({before} -> {after})")  # fmt: skip
    results["vws_fresh_offered"] = Measurement("offered rate", "tickets/s", [RATE])
    results["vws_fresh_rate"] = Measurement("tickets taken in", "tickets/s", [outcome.rate])
    results["vws_fresh_p50"] = Measurement("push -> dashboard p50", "ms", [p50])
    results["vws_fresh_p99"] = Measurement("push -> dashboard p99", "ms", [p99])
    results["vws_fresh_inbox_p99"] = Measurement("push -> inbox p99", "ms", [outcome.p99])
    results["vws_fresh_unseen"] = Measurement(
        "pushed tickets not in the dashboard 2 minutes after the last push", "tickets",
        [float(unseen)],
    )  # fmt: skip
    results["vws_fresh_moved"] = Measurement(
        "grids whose month moved", "grids", [float(moved)], note=f"of {len(codes)}"
    )
    results["vws_fresh_cpu"] = Measurement(
        "CPU per ticket", "ms", [outcome.cpu], note=outcome.cpu_parts
    )
    return results


async def _poll(
    engine: AsyncEngine,
    sent: Callable[[], dict[str, float]],
    seen: dict[str, float],
    stop: asyncio.Event,
) -> None:
    """Every POLL_SECONDS, which pushed tickets not seen yet have their row, with its grid, in
    the dashboard's tickets table; each seen at the poll's start (its snapshot)."""
    dashboard = Dashboard()
    table: sa.Table | None = None
    while not stop.is_set():
        started = time.time()
        pending = {tickets.ticket_id(n): n for n in list(sent()) if n not in seen}
        if pending:
            async with engine.connect() as conn:
                if table is None:
                    table = (await active_tables(conn, dashboard))["tickets"]
                found = await conn.scalars(
                    sa.select(table.c.ticket_id).where(
                        table.c.ticket_id.in_(list(pending)), table.c.grid_id.is_not(None)
                    )
                )
                for ticket_id in found:
                    seen[pending[ticket_id]] = started
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, POLL_SECONDS - (time.time() - started)))
