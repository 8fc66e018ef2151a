"""The registry at full size: census import rate, and lookups under 50 concurrent clients.

The synthetic 沿江街道 (8 communities, 169 grids, about 40,000 households and 100,000 residents) is
imported into a fresh PostgreSQL schema, once with one importer and once with two worker
processes; then the registry is started as its own process and 50 clients look people up by
identity number and read household cards. The census file is generated before the clock starts.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from benchmarks.common import Measurement, Schemas, Settings, no_collector_pauses, settle
from wangge.events.projection import active_tables
from wangge.registry.app import MIGRATIONS
from wangge.registry.bootstrap import registry
from wangge.registry.census import CensusImport, import_parallel, read_rows
from wangge.registry.config import RegistrySettings
from wangge.registry.projections.people import People
from wangge.registry.seeding import seed_tree
from wangge.registry.synthetic import Generator, write_csv
from wangge.service.devissuer import DevIssuer
from wangge.service.migrations import upgrade

CENSUS_DAY = date(2026, 11, 27)
BATCH = 2000
"""Rows per transaction: ``wangge registry import``'s default on PostgreSQL."""
CLIENTS = 50
WARM_UP_SECONDS = 3.0
RUNS = int(os.environ.get("BENCH_REGISTRY_RUNS", "3"))
"""Imports per worker count, and paced runs per endpoint: the median is reported."""
SERVER_WORKERS = int(os.environ.get("BENCH_REGISTRY_WORKERS", str(os.cpu_count() or 1)))
"""Server processes: one per core, as a deployment runs them."""
THINK_SECONDS = 0.25
"""Paced clients wait this long between requests (a desk clerk, not a load generator)."""


def _settings(settings: Settings, schema: str, data_dir: Path) -> RegistrySettings:
    return RegistrySettings(
        environment="test",
        database_url=settings.database_url,
        database_schema=schema,
        data_dir=data_dir,
        kafka_bootstrap_servers=None,
    )


async def _prepare(settings: RegistrySettings, generator: Generator) -> None:
    await asyncio.to_thread(upgrade, settings, MIGRATIONS)
    async with registry(settings) as parts:
        await seed_tree(parts, generator)


async def _import(settings: RegistrySettings, census: Path, workers: int) -> tuple[float, int, int]:
    """Seconds, residents imported, events written."""
    started = time.perf_counter()
    if workers == 1:
        async with registry(settings) as parts:
            importer = CensusImport(parts, census_date=CENSUS_DAY)
            await importer.load()
            report = await importer.run(read_rows(census), batch_size=BATCH)
    else:
        os.environ["DATABASE_URL"] = str(settings.database_url)
        os.environ["WANGGE_DATABASE_SCHEMA"] = str(settings.database_schema)
        os.environ["WANGGE_DATA_DIR"] = str(settings.data_dir)
        report = await asyncio.to_thread(
            import_parallel,
            census,
            census.with_name("rejects.csv"),
            census_date=CENSUS_DAY,
            batch_size=BATCH,
            workers=workers,
        )
    seconds = time.perf_counter() - started
    if report.rejected:
        raise RuntimeError(f"{report.rejected} census rows were rejected")
    return seconds, report.imported, report.events


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _latencies(
    session: aiohttp.ClientSession,
    seconds: float,
    request: Callable[[random.Random], Any],
    *,
    think: float,
) -> list[float]:
    """Latencies (ms) of CLIENTS clients, each waiting ``think`` seconds between requests."""
    out: list[float] = []
    deadline = time.perf_counter() + seconds

    async def one_client(seed: int) -> None:
        rng = random.Random(seed)
        await asyncio.sleep(rng.random() * think)  # clients do not start in step
        while time.perf_counter() < deadline:
            method, url, body = request(rng)
            started = time.perf_counter()
            async with session.request(method, url, json=body) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{url}: {response.status}")
            out.append((time.perf_counter() - started) * 1000)
            if think:
                await asyncio.sleep(think)

    await asyncio.gather(*(one_client(i) for i in range(CLIENTS)))
    return out


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def _lookups(
    settings: RegistrySettings, census: Path, seconds: float, log: Callable[[str], None]
) -> dict[str, Measurement]:
    numbers = [row["identity_number"] for _, row in read_rows(census)]
    async with registry(settings) as parts:
        people = next(p for p in parts.projections if isinstance(p, People))
        async with parts.store.engine.connect() as conn:
            h = (await active_tables(conn, people))["households"]
            households = [str(i) for i in await conn.scalars(sa.select(h.c.household_id))]
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "WANGGE_DATABASE_SCHEMA": str(settings.database_schema),
        "WANGGE_DATA_DIR": str(settings.data_dir),
        "WANGGE_ENVIRONMENT": "test",
        "WANGGE_LOG_LEVEL": "WARNING",
        "WANGGE_DISCLOSURES_PER_MINUTE": "1000000",
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    server = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "wangge"), "registry", "run", "--port", str(port),
        "--no-migrate-first", "--workers", str(SERVER_WORKERS), env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    token = DevIssuer(settings.dev_key_path).issue(
        "bench", roles=["subdistrict_admin"], places=["320111001"]
    )
    results: dict[str, Measurement] = {}
    try:
        connector = aiohttp.TCPConnector(limit=CLIENTS)
        async with aiohttp.ClientSession(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {token}"},
            connector=connector,
        ) as session:
            for _ in range(200):
                try:
                    async with session.get("/readyz") as ready:
                        if ready.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
            requests: dict[str, Callable[[random.Random], Any]] = {
                "lookup": lambda r: ("POST", "/persons/lookup",
                                     {"identity_number": r.choice(numbers)}),
                "card": lambda r: ("GET", f"/households/{r.choice(households)}", None),
            }  # fmt: skip
            for name, request in requests.items():
                # warm-up: every pooled connection prepares its statements, caches fill
                await _latencies(session, WARM_UP_SECONDS, request, think=0)
                modes = [("paced", THINK_SECONDS)] * RUNS + [("saturated", 0.0)]
                for mode, think in modes:
                    # the load generator's own collector passes (it holds every identity
                    # number of the census) would stall its clients and count as server latency
                    with no_collector_pauses():
                        latencies = await _latencies(session, seconds, request, think=think)
                    rate = len(latencies) / seconds
                    p50, p99 = _percentile(latencies, 50), _percentile(latencies, 99)
                    log(f"   {name}, {mode}: {len(latencies):,} requests, {rate:,.0f}/s, "
                        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip
                    key = f"reg_{name}_{mode}"
                    for figure, unit, value in (("p50", "ms", p50), ("p99", "ms", p99),
                                                ("rate", "requests/s", rate)):  # fmt: skip
                        results.setdefault(
                            f"{key}_{figure}", Measurement(f"{name} {figure}", unit)
                        ).values.append(value)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)
    return results


async def bench_registry(settings: Settings, log: Callable[[str], None]) -> dict[str, Measurement]:
    """Import at full size (1 and 2 workers), then lookups and cards under 50 clients."""
    size = os.environ.get("BENCH_REGISTRY_SIZE", "full")
    seconds = float(os.environ.get("BENCH_REGISTRY_SECONDS", "20"))
    generator = Generator(size=size)
    results: dict[str, Measurement] = {}
    schemas = Schemas(settings)
    with tempfile.TemporaryDirectory() as tmp:
        census = Path(tmp) / "census.csv"
        started = time.perf_counter()
        rows = write_csv(generator.residents(), census)
        log(f"   census of {rows:,} residents generated in {time.perf_counter() - started:.1f} s")
        last: RegistrySettings | None = None
        try:
            for workers in (1, 2):
                rate = results[f"reg_import/{workers}"] = Measurement(
                    f"census import, {workers} worker(s)", "residents/s"
                )
                event_rate = results[f"reg_import_events/{workers}"] = Measurement(
                    f"census import events, {workers} worker(s)", "events/s"
                )
                for run in range(RUNS):
                    if last is not None:
                        await schemas.drop(str(last.database_schema))
                    schema = await schemas.new("registry")
                    reg = _settings(settings, schema, Path(tmp) / f"data{workers}-{run}")
                    await _prepare(reg, generator)
                    took, imported, events = await _import(reg, census, workers)
                    log(f"   import, {workers} worker(s), run {run + 1}: {imported:,} "
                        f"residents, {events:,} events in {took:.1f} s: "
                        f"{imported / took:,.0f} residents/s")  # fmt: skip
                    rate.values.append(imported / took)
                    event_rate.values.append(events / took)
                    if run == RUNS - 1:
                        # the runners' first pass over the imported events (all applied
                        # already, so only skipped), as `wangge registry import` does; on the
                        # last run, whose register the lookups then read (a server would
                        # otherwise make that pass while it is measured)
                        started = time.perf_counter()
                        async with registry(reg) as parts:
                            await parts.catch_up()
                        caught = time.perf_counter() - started
                        log(f"   read models' runners caught up in {caught:.1f} s")
                        results[f"reg_catch_up/{workers}"] = Measurement(
                            f"runners' catch-up after import, {workers} worker(s)", "s", [caught]
                        )
                        results[f"reg_import_took/{workers}"] = Measurement(
                            f"the import caught up after, {workers} worker(s)", "s", [took]
                        )
                    last = reg
            assert last is not None
            started = time.perf_counter()
            await settle(settings, str(last.database_schema))
            settled = time.perf_counter() - started
            log(f"   VACUUM ANALYZE and CHECKPOINT after the load: {settled:.1f} s")
            results.update(await _lookups(last, census, seconds, log))
        finally:
            await schemas.drop_all()
    results["reg_rows"] = Measurement("census rows", "rows", [float(rows)])
    return results
