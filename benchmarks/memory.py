"""Peak memory of the relay and of a Kafka-fed projection runner, each in a fresh process.

The parent pre-fills the events table in SQL, then starts ``python -m benchmarks.memory relay``
(``OutboxRelay.run`` until it has published every event to a fresh topic) and afterwards
``python -m benchmarks.memory project`` (``ProjectionRunner.run`` with a ``KafkaSource`` on that
topic, applying every event to a one-table counter on a fresh schema). Each child reports its
peak RSS from /proc/self/status VmHWM (the kernel's high-water mark, so no sample can miss a
spike); the parent also samples the child's RSS with psutil every 100 ms as a cross-check.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from benchmarks.common import (
    Counted,
    Measurement,
    Settings,
    catalogue,
    create_store_tables,
    prefill,
    resources,
    schema_engine,
    unique_name,
)
from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext, Projection, ProjectionRunner, handles
from wangge.events.relay import OutboxRelay
from wangge.events.sources import KafkaSource
from wangge.events.store import PostgresEventStore


class TallyProjection(Projection):
    """Per stream, how many ``Counted`` events were applied: one upsert per event.

    The statement is built once per table and only its parameters change per event (building a
    SQLAlchemy upsert per event costs more than executing it).
    """

    name = "tally"

    def __init__(self) -> None:
        super().__init__(catalogue)
        self._upserts: dict[str, Any] = {}

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        return {
            "tally": sa.Table(
                f"tally{suffix}",
                metadata,
                sa.Column("stream_id", sa.String(200), primary_key=True),
                sa.Column("applied", sa.Integer, nullable=False),
            )
        }

    def _upsert(self, table: sa.Table) -> Any:
        if table.name not in self._upserts:
            insert = pg_insert(table).values(stream_id=sa.bindparam("stream_id"), applied=1)
            self._upserts[table.name] = insert.on_conflict_do_update(
                index_elements=["stream_id"], set_={"applied": table.c.applied + 1}
            )
        return self._upserts[table.name]

    @handles(Counted)
    async def on_counted(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        upsert = self._upsert(ctx.tables["tally"])
        await ctx.conn.execute(upsert, {"stream_id": event.stream_id})


def _rss_mb() -> float:
    return float(psutil.Process().memory_info().rss) / 2**20


def _peak_mb() -> float:
    # VmHWM, the peak RSS of this process image. Not getrusage's ru_maxrss: Linux carries that
    # over fork and exec, so a child would report its (much larger) parent's peak.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


async def _watch(done: Any, stop: asyncio.Event, count: int) -> None:
    # polls the counter the relay or runner exposes; neither signals progress otherwise
    while True:
        if done() >= count:
            stop.set()
            return
        await asyncio.sleep(0.05)


async def child_relay(schema: str, topic: str, count: int) -> dict[str, float]:
    settings = Settings.from_env()
    engine = schema_engine(settings, schema, pool_size=2)
    store = PostgresEventStore(engine, service="bench", catalogue=catalogue)
    relay = OutboxRelay(store, bootstrap_servers=settings.kafka, topic=topic)
    baseline = _rss_mb()
    stop = asyncio.Event()
    started = time.perf_counter()
    await asyncio.gather(relay.run(stop), _watch(lambda: relay.published, stop, count))
    seconds = time.perf_counter() - started
    await engine.dispose()
    return {"seconds": seconds, "baseline_mb": baseline, "peak_mb": _peak_mb(), "events": count}


async def child_project(schema: str, topic: str, count: int) -> dict[str, float]:
    settings = Settings.from_env()
    engine = schema_engine(settings, schema, pool_size=2)
    source = KafkaSource(settings.kafka, [topic], group_id=unique_name("bench"))
    runner = ProjectionRunner(TallyProjection(), engine=engine, source=source)
    baseline = _rss_mb()
    stop = asyncio.Event()
    started = time.perf_counter()
    await asyncio.gather(runner.run(stop), _watch(lambda: runner.applied, stop, count))
    seconds = time.perf_counter() - started
    async with engine.connect() as conn:
        total = await conn.scalar(sa.text("SELECT sum(applied) FROM tally_g1"))
    await engine.dispose()
    if total != count:
        raise SystemExit(f"the projection applied {total} events, expected {count}")
    return {"seconds": seconds, "baseline_mb": baseline, "peak_mb": _peak_mb(), "events": count}


async def _spawn(kind: str, schema: str, topic: str, count: int) -> dict[str, float]:
    """Run one child and sample its RSS from here as well."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.memory",
        kind,
        schema,
        topic,
        str(count),
        stdout=asyncio.subprocess.PIPE,
        env=os.environ.copy(),
    )
    sampled = 0.0
    watched = psutil.Process(process.pid)
    reader = asyncio.ensure_future(process.communicate())
    while not reader.done():
        with contextlib.suppress(psutil.Error):
            sampled = max(sampled, watched.memory_info().rss / 2**20)
        await asyncio.sleep(0.1)
    stdout, _ = await reader
    if process.returncode != 0:
        raise RuntimeError(f"benchmarks.memory {kind} failed with exit code {process.returncode}")
    result: dict[str, float] = json.loads(stdout.decode().strip().splitlines()[-1])
    result["sampled_mb"] = sampled
    return result


async def bench_memory(settings: Settings, log: Any) -> dict[str, Measurement]:
    """Keys ``mem_relay`` and ``mem_project``: peak RSS in MB (one run each), with timings."""
    count = settings.memory_events
    out: dict[str, Measurement] = {}
    async with resources(settings) as (schemas, topics):
        schema = await schemas.new("mem")
        engine = schema_engine(settings, schema, pool_size=1)
        try:
            await create_store_tables(engine)
        finally:
            await engine.dispose()
        seconds = await prefill(settings, schema, count)
        log(f"  pre-filled {count:,} events in {seconds:.1f} s")
        topic = await topics.new("mem")
        for key, kind, what in (
            ("mem_relay", "relay", "OutboxRelay.run"),
            ("mem_project", "project", "ProjectionRunner + KafkaSource"),
        ):
            target = schema if kind == "relay" else await schemas.new("proj")
            result = await _spawn(kind, target, topic, count)
            rate = count / result["seconds"]
            note = (
                f"{count:,} events in {result['seconds']:.0f} s ({rate:,.0f}/s); "
                f"RSS at start {result['baseline_mb']:.0f} MB, sampled peak "
                f"{result['sampled_mb']:.0f} MB"
            )
            out[key] = Measurement(f"peak RSS, {what}, {count:,} events", "MB", [result["peak_mb"]])
            out[key].note = note
            out[f"{key}_rate"] = Measurement(f"{what}, {count:,} events", "events/s", [rate])
            log(f"  {what:<34} peak RSS {result['peak_mb']:.0f} MB; {note}")
    return out


def main(argv: list[str]) -> None:
    kind, schema, topic, count = argv[0], argv[1], argv[2], int(argv[3])
    child = {"relay": child_relay, "project": child_project}[kind]
    print(json.dumps(asyncio.run(child(schema, topic, count))))


if __name__ == "__main__":
    main(sys.argv[1:])
