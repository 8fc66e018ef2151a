"""Rebuilding every training read model from the log, for a year of the full subdistrict's
training (169 workers: sessions twice a month with attendance and scores, a programme, a
handbook in two editions, forums, secondments), against reading the same events raw.

The year is written to a training store on PostgreSQL; "raw" reads every event of it through
the store in the runner's batch size (what any rebuild must at least do); each projection is
then rebuilt from the beginning into a new generation, one after the other.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import date

from benchmarks.common import Measurement, Schemas, Settings, schema_engine
from wangge.events.envelope import START
from wangge.events.projection import ProjectionRunner
from wangge.events.sources import StoreSource
from wangge.events.store import open_store
from wangge.service.migrations import upgrade
from wangge.training.app import MIGRATIONS
from wangge.training.config import TrainingSettings
from wangge.training.projections.development import Development
from wangge.training.projections.sessions import Sessions
from wangge.training.projections.statements import Statements
from wangge.training.synthetic import year_of_training

WORKERS = 169
BATCH = 2000


async def bench_training(settings: Settings, log: Callable[[str], None]) -> dict[str, Measurement]:
    """A year's rebuild of each training projection, and all of them, vs reading raw."""
    schemas = Schemas(settings)
    schema = await schemas.new("trn")
    engine = schema_engine(settings, schema)
    results: dict[str, Measurement] = {}
    try:
        training = TrainingSettings(
            environment="test", database_url=settings.database_url, database_schema=schema,
            kafka_bootstrap_servers=None,
        )  # fmt: skip
        await asyncio.to_thread(upgrade, training, MIGRATIONS)
        store = open_store(engine, service="training")
        workers = [uuid.UUID(int=n + 1, version=4) for n in range(WORKERS)]
        appends = year_of_training(workers, ends_on=date(2026, 11, 27))
        events = sum(len(a.events) for a in appends)
        for chunk in range(0, len(appends), 50):
            async with store.begin() as conn:
                await store.append_batch(appends[chunk : chunk + 50], connection=conn)
        log(f"   a year: {len(appends):,} streams, {events:,} events; reading raw, rebuilding")
        raw: list[float] = []
        rebuilt: dict[str, list[float]] = {}
        for _ in range(settings.runs):
            started = time.perf_counter()
            read, after = 0, START
            while batch := await store.read_all(after=after, limit=BATCH):
                read += len(batch)
                after = batch[-1].checkpoint
            raw.append(time.perf_counter() - started)
            assert read == events, (read, events)
            for projection in (Sessions(), Statements(), Development()):
                runner = ProjectionRunner(
                    projection, engine=engine, source=StoreSource(store, idle_seconds=0),
                    batch_size=BATCH,
                )  # fmt: skip
                started = time.perf_counter()
                await runner.rebuild()
                rebuilt.setdefault(projection.name, []).append(time.perf_counter() - started)
        total = [sum(run) for run in zip(*rebuilt.values(), strict=True)]
        results["trn_raw"] = Measurement("read the year's events raw", "s", raw)
        results["trn_total"] = Measurement("rebuild every training projection", "s", total)
        results["trn_events"] = Measurement("events in the year", "events", [float(events)])
        for name, values in rebuilt.items():
            results[f"trn_{name}"] = Measurement(f"rebuild {name}", "s", values)
        log(
            f"   raw {min(raw):.2f} s; rebuilds "
            + ", ".join(f"{n} {min(v):.1f} s" for n, v in rebuilt.items())
        )
    finally:
        await engine.dispose()
        await schemas.drop_all()
    return results
