"""The hotline flow under load, and recomputing a year of metrics from the log.

**Intake**: the registry (the small synthetic subdistrict, a worker per grid), the hotline bridge
and the cases service run as their own processes on PostgreSQL, talking through Kafka. An
open-loop generator pushes signed 12345 tickets at a fixed rate (default 200/s for 60 s) to the
dwellings of the subdistrict. A ticket is in the worker's inbox when its case is committed (the
case and its assignment are one transaction, with the inbox's read model); the latency is from
the push's send to that commit (the case's first event's recorded time), per ticket. The
generator's garbage collector is off while it pushes (its pauses would hold back the pushes due
then and be timed in the bridge's HTTP answers).

**Metrics**: a year of tickets for the full synthetic subdistrict (each received, routed,
accepted, replied, delivered, followed up and closed) is written to a hotline store; the tickets
read model and the grid map (from the registry's full census) are rebuilt from the log, and the
twelve months' figures per grid and per community computed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.common import Measurement, Schemas, Settings, no_collector_pauses, schema_engine
from wangge.cases.domain.cases import case_for
from wangge.events import DomainEvent
from wangge.events.projection import ProjectionRunner, active_tables
from wangge.events.sources import StoreSource
from wangge.events.store import StreamAppend, open_store
from wangge.hotline_bridge.app import MIGRATIONS as HOTLINE_MIGRATIONS
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue
from wangge.hotline_bridge.domain.routing import Match, RoutingMethod
from wangge.hotline_bridge.projections.figures import monthly
from wangge.hotline_bridge.projections.grid_map import GridMap
from wangge.hotline_bridge.projections.tickets import Tickets
from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, sign
from wangge.registry.app import MIGRATIONS as REGISTRY_MIGRATIONS
from wangge.registry.bootstrap import registry as open_registry
from wangge.registry.census import import_parallel
from wangge.registry.config import RegistrySettings
from wangge.registry.seeding import seed_tree
from wangge.registry.synthetic import Generator, write_csv
from wangge.service.devissuer import DevIssuer
from wangge.service.migrations import upgrade

RATE = float(os.environ.get("BENCH_HOTLINE_RATE", "200"))
SECONDS = float(os.environ.get("BENCH_HOTLINE_SECONDS", "60"))
CATEGORIES = ("0301", "0302", "0303", "0304", "0305", "0306", "0401", "0201")
"""The categories pushed (complaints mostly): repeats at one address raise hotspots, as in life."""
SUSTAINED = float(os.environ.get("BENCH_HOTLINE_SUSTAINED", "40"))
"""A second, gentler phase (0: none): where the flow stands when it is not overrun."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")


async def _ready(port: int, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise RuntimeError(f"the service on port {port} did not become ready")


async def _wait(check: Callable[[], Any], what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"{what} did not happen within {seconds:.0f} s")


class _Cpu:
    """CPU seconds spent by each part of the flow, to say where a ticket's cost goes.

    Everything shares two cores here, so the per-ticket CPU of each process is what decides the
    rate the flow can sustain (2,000 ms of CPU per second in all).
    """

    def __init__(self, services: dict[str, int]) -> None:
        self.services = services

    def sample(self) -> dict[str, float]:
        spent: dict[str, float] = dict.fromkeys((*self.services, "postgres", "kafka", "load"), 0.0)
        owners = {pid: name for name, pid in self.services.items()}
        for name, pid in self.services.items():  # a service's worker processes count as its own
            with contextlib.suppress(psutil.Error):
                owners |= {c.pid: name for c in psutil.Process(pid).children(recursive=True)}
        for process in psutil.process_iter(["pid", "name", "cmdline"]):
            try:
                times = process.cpu_times()
                used = times.user + times.system
                name = process.info["name"] or ""
                line = " ".join(process.info["cmdline"] or [])
                if process.info["pid"] in owners:
                    spent[owners[process.info["pid"]]] += used
                elif process.info["pid"] == os.getpid():
                    spent["load"] += used
                elif name.startswith("postgres"):
                    spent["postgres"] += used
                elif name == "java" and "kafka" in line:
                    spent["kafka"] += used
            except psutil.Error:
                continue
        return spent

    @staticmethod
    def per_ticket(
        before: dict[str, float], after: dict[str, float], tickets: int
    ) -> tuple[float, str]:
        parts = {k: (after[k] - before.get(k, 0.0)) * 1000 / max(tickets, 1) for k in after}
        shown = ", ".join(f"{k} {v:.1f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]))
        return sum(parts.values()), shown


@dataclass(frozen=True)
class _Outcome:
    rate: float
    p50: float
    p99: float
    http_p99: float
    failed: int
    recorded_p99: float
    crossed_p50: float
    crossed_p99: float
    cpu: float
    cpu_parts: str


class _Load:
    """An open-loop generator of signed pushes, and the measure of push -> case committed."""

    def __init__(
        self, port: int, token: str, secret: bytes, dwellings: list[str], cases: Any, tag: str,
        cpu: _Cpu, hotline: Any,
    ) -> None:  # fmt: skip
        self.cpu, self.hotline = cpu, hotline
        self.port, self.token, self.secret = port, token, secret
        self.dwellings, self.cases, self.tag = dwellings, cases, tag
        self.categories = _categories()
        self.rng = random.Random(7)
        self.numbered = 0
        self.sent: dict[str, float] = {}
        """The current phase's pushes taken in so far: ticket number -> when it was sent."""

    async def phase(self, rate: float, seconds: float, log: Callable[[str], None]) -> _Outcome:
        sent: dict[str, float] = {}
        self.sent = sent
        http: list[float] = []
        failures = 0
        rng = self.rng
        connector = aiohttp.TCPConnector(limit=256)
        async with aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{self.port}",
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            connector=connector,
        ) as session:

            async def push(number: str) -> None:
                nonlocal failures
                body = json.dumps(
                    {
                        "ticket_number": number,
                        "received_at": datetime.now(UTC).isoformat(),
                        "caller": {"name": "王小明", "phone": f"138{rng.randrange(10**8):08d}"},
                        "category_code": rng.choice(self.categories),
                        "content": "楼道堆放杂物 影响通行",
                        "address": f"沿江街道{rng.choice(self.dwellings)}",
                    },
                    ensure_ascii=False,
                ).encode()
                now = int(time.time())
                started = time.time()
                sent[number] = started
                headers = {TIMESTAMP: str(now), SIGNATURE: sign(self.secret, now, body)}
                try:
                    async with session.post("/tickets", data=body, headers=headers) as response:
                        answer = await response.read()
                        if response.status != 201:
                            failures += 1
                            sent.pop(number, None)
                            if failures <= 3:
                                log(f"   push {number}: {response.status} {answer[:300]!r}")
                except aiohttp.ClientError as error:
                    failures += 1
                    sent.pop(number, None)
                    if failures <= 3:
                        log(f"   push {number}: {error!r}")
                http.append((time.time() - started) * 1000)

            total = int(rate * seconds)
            interval = 1 / rate
            tasks: list[asyncio.Task[None]] = []
            with no_collector_pauses():
                cpu_before = self.cpu.sample()
                begin = time.perf_counter()
                for _ in range(total):
                    self.numbered += 1
                    number = f"B{self.tag[-6:]}{self.numbered:08d}"
                    delay = begin + (len(tasks)) * interval - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    tasks.append(asyncio.create_task(push(number)))
                await asyncio.gather(*tasks)
                pushed_seconds = time.perf_counter() - begin
        log(f"   offered {rate:g}/s: pushed {len(sent):,} tickets in {pushed_seconds:.1f} s "
            f"({failures} failed)")  # fmt: skip
        ids = {str(case_for(f"ticket:{tickets.ticket_id(number)}")): number for number in sent}
        opened: dict[str, datetime] = {}

        async def all_cases() -> bool:
            async with self.cases.connect() as conn:
                rows = await conn.execute(
                    sa.text(
                        "SELECT stream_id, recorded_at FROM events "
                        "WHERE type = 'wangge.cases.CaseOpened'"
                    )
                )
                opened.update({r.stream_id.removeprefix("case-"): r.recorded_at for r in rows})
            return opened.keys() >= ids.keys()

        await _wait(all_cases, "every ticket's case", seconds=900)
        cpu, parts = self.cpu.per_ticket(cpu_before, self.cpu.sample(), len(sent))
        log(f"   CPU per ticket {cpu:.1f} ms ({parts})")
        latencies = [(opened[case].timestamp() - sent[n]) * 1000 for case, n in ids.items()]
        async with self.hotline.connect() as conn:
            rows = await conn.execute(
                sa.text(
                    "SELECT stream_id, recorded_at FROM events "
                    "WHERE type = 'wangge.hotline_bridge.TicketReceived'"
                )
            )
            recorded = {r.stream_id: r.recorded_at.timestamp() for r in rows}
        taken = [(recorded[tickets.stream_id(tickets.ticket_id(n))] - sent[n]) * 1000 for n in sent]
        crossed = [
            (opened[case].timestamp() - recorded[tickets.stream_id(tickets.ticket_id(n))]) * 1000
            for case, n in ids.items()
        ]
        log(f"   push -> ticket recorded: p50 {_percentile(taken, 50):,.0f} ms, p99 "
            f"{_percentile(taken, 99):,.0f} ms; ticket recorded -> case committed (relay, Kafka, "
            f"reaction): p50 {_percentile(crossed, 50):,.0f} ms, p99 "
            f"{_percentile(crossed, 99):,.0f} ms")  # fmt: skip
        outcome = _Outcome(
            rate=len(sent) / pushed_seconds,
            p50=_percentile(latencies, 50),
            p99=_percentile(latencies, 99),
            http_p99=_percentile(http, 99),
            failed=failures,
            recorded_p99=_percentile(taken, 99),
            crossed_p50=_percentile(crossed, 50),
            crossed_p99=_percentile(crossed, 99),
            cpu=cpu,
            cpu_parts=parts,
        )
        log(f"   push -> inbox: p50 {outcome.p50:,.0f} ms, p99 {outcome.p99:,.0f} ms, max "
            f"{max(latencies):,.0f} ms; push HTTP p99 {outcome.http_p99:,.0f} ms")  # fmt: skip
        return outcome


def _categories() -> list[str]:
    path = Path(HotlineSettings.model_fields["dispatch_catalogue"].default)
    codes = [c["code"] for c in json.loads(path.read_text())["categories"]]
    return [c for c in CATEGORIES if c in codes] or codes[:6]


@dataclass
class Flow:
    """The intake flow's processes running on PostgreSQL and Kafka, ready for pushes."""

    settings: Settings
    namespace: str
    data_dir: Path
    schemas: dict[str, str]
    ports: dict[str, int]
    hot: AsyncEngine
    cas: AsyncEngine
    dwellings: list[str]
    cpu: _Cpu
    secret: bytes
    token: str

    def load(self) -> _Load:
        """An open-loop generator of signed pushes to this flow's hotline bridge."""
        return _Load(
            self.ports["hotline-bridge"], self.token, self.secret, self.dwellings, self.cas,
            self.namespace, self.cpu, self.hot,
        )  # fmt: skip


FLOW = (("registry", "reg"), ("hotline-bridge", "hot"), ("cases", "cas"))
"""The intake's services, in the order they start, and their schemas' prefixes."""


@contextlib.asynccontextmanager
async def running_flow(
    settings: Settings, log: Callable[[str], None], *, also: tuple[tuple[str, str], ...] = ()
) -> AsyncIterator[Flow]:
    """The registry (small synthetic subdistrict), the hotline bridge, the cases service and
    ``also`` (more services reading their topics, e.g. the views) as processes, each on a fresh
    schema, talking through Kafka in a namespace of their own; ready once the grid map and the
    roster follow the registry. Stopped, and their schemas dropped, on leaving."""
    schemas = Schemas(settings)
    services = (*FLOW, *also)
    names = {prefix: await schemas.new(prefix) for _, prefix in services}
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    data_dir = Path(tempfile.mkdtemp(prefix="wangge-bench-"))
    wangge = str(Path(sys.executable).parent / "wangge")
    processes = []
    engines: list[AsyncEngine] = []
    try:
        ports = {service: _free_port() for service, _ in services}
        for service, schema in services:
            env = {
                **os.environ,
                "DATABASE_URL": settings.database_url,
                "WANGGE_DATABASE_SCHEMA": names[schema],
                "KAFKA_BOOTSTRAP_SERVERS": settings.kafka,
                "WANGGE_KAFKA_NAMESPACE": namespace,
                "WANGGE_DATA_DIR": str(data_dir),
                "WANGGE_ENVIRONMENT": "test",
                "WANGGE_LOG_LEVEL": "WARNING",
            }
            extra = ["--seed", "small"] if service == "registry" else []
            processes.append(
                await asyncio.create_subprocess_exec(
                    wangge,
                    service,
                    "run",
                    "--port",
                    str(ports[service]),
                    *extra,
                    env=env,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
            )
            await _ready(ports[service], 300)
        hot = schema_engine(settings, names["hot"])
        cas = schema_engine(settings, names["cas"])
        engines += [hot, cas]
        dwellings: list[str] = []

        async def mapped() -> bool:
            async with hot.connect() as conn:
                try:
                    rows = await conn.execute(
                        sa.text(
                            "SELECT address FROM hotline_places_g1 "
                            "WHERE kind = 'dwelling' AND address IS NOT NULL"
                        )
                    )
                except sa.exc.DBAPIError:
                    return False
                found = [r.address for r in rows]
            async with cas.connect() as conn:
                try:
                    workers = await conn.scalar(
                        sa.text("SELECT count(*) FROM roster_worker_grids_g1")
                    )
                except sa.exc.DBAPIError:
                    return False
            dwellings[:] = found
            return len(found) > 500 and bool(workers) and workers >= 12

        await _wait(mapped, "the grid map and the roster following the registry")
        log(f"   {len(dwellings):,} dwellings mapped")
        secret = HotlineSettings(
            environment="test", data_dir=data_dir, database_url=settings.database_url
        ).signing_secret()
        token = DevIssuer(data_dir / "dev-issuer.pem").issue(
            "hotline-12345", roles=["hotline_system"]
        )
        cpu = _Cpu({name: process.pid for name, process in zip(ports, processes, strict=True)})
        yield Flow(
            settings, namespace, data_dir, names, ports, hot, cas, dwellings, cpu, secret, token
        )
    finally:
        for engine in engines:
            await engine.dispose()
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            await asyncio.wait_for(process.wait(), timeout=30)
        await schemas.drop_all()


async def bench_intake(settings: Settings, log: Callable[[str], None]) -> dict[str, Measurement]:
    """Sustained intake: push rate, HTTP latency, and push -> case in the inbox."""
    results: dict[str, Measurement] = {}
    async with running_flow(settings, log) as flow:
        load = flow.load()
        outcome = await load.phase(RATE, SECONDS, log)
        results["hot_offered"] = Measurement("offered rate", "tickets/s", [RATE])
        for key, label, unit, value in (
            ("hot_rate", "tickets taken in", "tickets/s", outcome.rate),
            ("hot_inbox_p50", "push -> inbox p50", "ms", outcome.p50),
            ("hot_inbox_p99", "push -> inbox p99", "ms", outcome.p99),
            ("hot_http_p99", "push HTTP p99", "ms", outcome.http_p99),
            ("hot_failed", "failed pushes", "pushes", float(outcome.failed)),
            ("hot_recorded_p99", "push -> ticket recorded p99", "ms", outcome.recorded_p99),
            ("hot_crossed_p50", "ticket recorded -> case committed p50", "ms", outcome.crossed_p50),
            ("hot_crossed_p99", "ticket recorded -> case committed p99", "ms", outcome.crossed_p99),
        ):
            results[key] = Measurement(label, unit, [value])
        results["hot_cpu"] = Measurement(
            "CPU per ticket", "ms", [outcome.cpu], note=outcome.cpu_parts
        )
        if SUSTAINED:
            calm = await load.phase(SUSTAINED, min(SECONDS, 30.0), log)
            results["hot_sustained_rate"] = Measurement(
                f"Ticket intake at {SUSTAINED:g} tickets/s offered: taken in", "tickets/s",
                [calm.rate],
            )  # fmt: skip
            results["hot_sustained_p99"] = Measurement(
                f"Push -> inbox at {SUSTAINED:g} tickets/s: p99 (p50 {calm.p50:,.0f} ms)", "ms",
                [calm.p99],
            )  # fmt: skip
    return results


TICKETS_PER_YEAR = int(os.environ.get("BENCH_HOTLINE_YEAR_TICKETS", "20000"))
"""A year of 12345 tickets for a subdistrict of 100,000 residents (about 55 a day)."""
YEAR = 2026


def _year_of_tickets(dwellings: list[Any], count: int, seed: int = 11) -> list[Any]:
    """Each ticket's whole life, as the bridge would have recorded it, as one stream append."""

    rng = random.Random(seed)
    start = datetime(YEAR, 1, 1, tzinfo=UTC)
    appends = []
    categories = ("0301", "0302", "0303", "0304", "0401", "0201")

    catalogue = DispatchCatalogue.load(
        Path(HotlineSettings.model_fields["dispatch_catalogue"].default)
    )
    for n in range(count):
        dwelling = rng.choice(dwellings)
        received = start + timedelta(seconds=rng.randrange(365 * 86400))
        category = catalogue.get(rng.choice(categories))
        assert category is not None
        number = f"Y{YEAR}{n:07d}"
        ticket_id = tickets.ticket_id(number)
        intake = tickets.Intake(
            ticket_number=number, channel=tickets.Channel.PHONE, received_at=received,
            category_code=category.code, content="噪声扰民", address=dwelling.address,
            urgency=tickets.Urgency.NORMAL, fingerprint=str(n),
        )  # fmt: skip
        [received_event] = tickets.receive(
            intake,
            catalogue=catalogue,
            now=received,
            seal=lambda block: None,  # type: ignore[arg-type,return-value]
            digest=lambda fingerprint: fingerprint,  # the year is written once, never re-pushed
        )
        state = tickets.evolve(None, received_event, 1)
        events: list[DomainEvent] = [received_event]
        version = 1
        match = Match(RoutingMethod.DWELLING, dwelling.grid_id, dwelling.place_id, "dwelling")
        satisfaction = rng.choices(list(tickets.Satisfaction), weights=(80, 15, 5))[0]
        resolved = satisfaction != tickets.Satisfaction.UNSATISFIED
        steps: list[Callable[[tickets.Ticket, int], list[DomainEvent]]] = [
            lambda t, v: tickets.route(t, match),  # noqa: B023 - called within the iteration
            lambda t, v: tickets.accept(t),
            lambda t, v: tickets.reply(
                t, text="已处理", solved=True, at_source=rng.random() < 0.8, version=v
            ),
            lambda t, v: tickets.delivered(t, attempt=1),
            lambda t, v: tickets.follow_up(
                t, satisfaction=satisfaction, resolved=resolved,  # noqa: B023
                note=None, redo_deadline=t.deadline,
            ),
        ]  # fmt: skip
        for decide in steps:
            new = decide(state, version)
            for event in new:
                version += 1
                state = tickets.evolve(state, event, version)
            events.extend(new)
        appends.append(StreamAppend(tickets.stream_id(ticket_id), events, 0))
    return appends


@dataclass
class Census:
    """The registry's log of the full synthetic subdistrict, and its dwellings."""

    engine: AsyncEngine
    dwellings: list[Any]
    """Each dwelling's ``place_id``, ``grid_id`` and ``address`` (rows of the registry's places)."""


async def full_census(
    settings: Settings, reg_schema: str, data_dir: Path, log: Callable[[str], None]
) -> Census:
    """The place tree, a worker per grid and the full synthetic census (``BENCH_REGISTRY_SIZE``,
    default ``full``), imported by two workers into ``reg_schema``: the registry's log."""
    reg = RegistrySettings(
        environment="test", database_url=settings.database_url, database_schema=reg_schema,
        data_dir=data_dir, kafka_bootstrap_servers=None,
    )  # fmt: skip
    generator = Generator(size=os.environ.get("BENCH_REGISTRY_SIZE", "full"))
    census = data_dir / "census.csv"
    await asyncio.to_thread(write_csv, generator.residents(), census)
    await asyncio.to_thread(upgrade, reg, REGISTRY_MIGRATIONS)
    async with open_registry(reg) as parts:
        await seed_tree(parts, generator)
    log("   importing the full synthetic census (the registry's log)")
    saved = {
        k: os.environ.get(k) for k in ("DATABASE_URL", "WANGGE_DATABASE_SCHEMA", "WANGGE_DATA_DIR")
    }
    os.environ |= {
        "DATABASE_URL": settings.database_url, "WANGGE_DATABASE_SCHEMA": reg_schema,
        "WANGGE_DATA_DIR": str(data_dir),
    }  # fmt: skip
    try:
        await asyncio.to_thread(
            import_parallel, census, census.with_name("rejects.csv"),
            census_date=date(YEAR, 1, 1), batch_size=2000, workers=2,
        )  # fmt: skip
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    reg_engine = schema_engine(settings, reg_schema)
    async with reg_engine.connect() as conn:
        dwellings = (
            await conn.execute(
                sa.text(
                    "SELECT place_id, grid_id, address FROM registry_places_g1 "
                    "WHERE kind = 'dwelling' AND grid_id IS NOT NULL"
                )
            )
        ).all()
    return Census(reg_engine, list(dwellings))


async def bench_metrics(settings: Settings, log: Callable[[str], None]) -> dict[str, Measurement]:
    """A year of metrics for the full synthetic subdistrict, recomputed from the log."""

    schemas = Schemas(settings)
    reg_schema, hot_schema = await schemas.new("reg"), await schemas.new("hot")
    data_dir = Path(tempfile.mkdtemp(prefix="wangge-bench-"))
    results: dict[str, Measurement] = {}
    try:
        census = await full_census(settings, reg_schema, data_dir, log)
        reg_engine, dwellings = census.engine, census.dwellings
        hot = HotlineSettings(
            environment="test", database_url=settings.database_url, database_schema=hot_schema,
            data_dir=data_dir, kafka_bootstrap_servers=None,
        )  # fmt: skip
        await asyncio.to_thread(upgrade, hot, HOTLINE_MIGRATIONS)
        hot_engine = schema_engine(settings, hot_schema)
        hot_store = open_store(hot_engine, service="hotline_bridge")
        reg_store = open_store(reg_engine, service="registry")
        appends = _year_of_tickets(list(dwellings), TICKETS_PER_YEAR)
        written = sum(len(a.events) for a in appends)
        for chunk in range(0, len(appends), 1000):
            async with hot_store.begin() as conn:
                await hot_store.append_batch(appends[chunk : chunk + 1000], connection=conn)
        log(f"   a year: {len(appends):,} tickets, {written:,} events; rebuilding from the log")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        grid_map = GridMap()
        runner = ProjectionRunner(
            grid_map, engine=hot_engine,
            source=StoreSource(reg_store, idle_seconds=0, key="store:registry"), batch_size=2000,
        )  # fmt: skip
        await runner.rebuild()
        timings["grid map (registry's places and moves)"] = time.perf_counter() - started
        grid_events = runner.applied
        started = time.perf_counter()
        tickets_projection = Tickets()
        runner = ProjectionRunner(
            tickets_projection, engine=hot_engine,
            source=StoreSource(hot_store, idle_seconds=0), batch_size=2000,
        )  # fmt: skip
        await runner.rebuild()
        timings["tickets"] = time.perf_counter() - started
        ticket_events = runner.applied
        started = time.perf_counter()
        areas = 0
        async with hot_engine.connect() as conn:
            ticket_table = tickets_projection.tables(runner.generation)["tickets"]
            places = await active_tables(conn, grid_map)
            for month in range(1, 13):
                for level in ("grid", "community"):
                    areas += len(
                        await monthly(
                            conn,
                            ticket_table,
                            places,
                            month=f"{YEAR}-{month:02d}",
                            level=level,
                            now=datetime.now(UTC),
                        )
                    )
        timings["12 months of figures"] = time.perf_counter() - started
        total = sum(timings.values())
        for part, seconds in timings.items():
            log(f"   {part}: {seconds:.1f} s")
        log(f"   recomputed a year in {total:.1f} s ({grid_events:,} registry and "
            f"{ticket_events:,} ticket events applied, {areas:,} area-months)")  # fmt: skip
        results["met_total"] = Measurement("recompute a year of metrics", "s", [total])
        results["met_grid_map"] = Measurement(
            "rebuild the grid map", "s", [timings["grid map (registry's places and moves)"]]
        )
        results["met_tickets"] = Measurement("rebuild the tickets", "s", [timings["tickets"]])
        results["met_figures"] = Measurement(
            "12 months of figures", "s", [timings["12 months of figures"]]
        )
        results["met_events"] = Measurement(
            "events applied", "events", [float(grid_events + ticket_events)]
        )
        await reg_engine.dispose()
        await hot_engine.dispose()
    finally:
        await schemas.drop_all()
    return results
