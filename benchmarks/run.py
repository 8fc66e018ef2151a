"""`make bench`: every benchmark, the tables on stdout, and docs/benchmarks.md.

    uv run --frozen python -m benchmarks.run

Needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS (``scripts/bench.sh`` starts both). Sizes come from
the environment; see ``benchmarks.common.Settings`` and docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import report
from benchmarks.append import CONTENDERS, bench_batched, bench_single
from benchmarks.common import Measurement, Settings, server_version
from benchmarks.hotline import bench_intake, bench_metrics
from benchmarks.memory import bench_memory
from benchmarks.registry import bench_registry
from benchmarks.relay import bench_relay
from benchmarks.replay import bench_replay
from benchmarks.training import bench_training
from benchmarks.views import _Year, bench_views, bench_views_fresh
from benchmarks.web import bench_overview


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def main() -> None:
    settings = Settings.from_env()
    load_start = os.getloadavg()
    started = time.perf_counter()
    results: dict[str, Measurement] = {}
    contenders = list(CONTENDERS)
    log(
        f"== bench: scale {settings.scale:g}, {settings.runs} runs of {settings.seconds:g} s, "
        f"{settings.writers} writers, relay {settings.relay_events:,} events, "
        f"memory {settings.memory_events:,} events"
    )
    if settings.wants("append"):
        log("== append, one event per transaction")
        results.update(await bench_single(settings, log, contenders))
    if settings.wants("batch"):
        log(f"== append, {settings.batch} events per transaction")
        results.update(await bench_batched(settings, log, contenders))
    if settings.wants("relay"):
        log("== relay to Kafka")
        results.update(await bench_relay(settings, log))
    if settings.wants("registry"):
        log("== registry: census import at full size, lookups under 50 clients")
        results.update(await bench_registry(settings, log))
    if settings.wants("hotline"):
        log("== hotline: sustained ticket intake through three services, PostgreSQL and Kafka")
        results.update(await bench_intake(settings, log))
    if settings.wants("metrics"):
        log("== hotline: a year of metrics for the full subdistrict, recomputed from the log")
        results.update(await bench_metrics(settings, log))
    if settings.wants("training"):
        log("== training: every read model rebuilt from a year's log, against reading it raw")
        results.update(await bench_training(settings, log))
    alongside = [
        (name, bench)
        for name, bench in (("web", bench_overview), ("replay", bench_replay))
        if settings.wants(name)
    ]

    async def also(
        settings: Settings, year: _Year, log: Callable[[str], None]
    ) -> dict[str, Measurement]:
        found: dict[str, Measurement] = {}
        for name, bench in alongside:
            log(f"== {name} on the same year")
            found |= await bench(settings, year, log)
        return found

    if settings.wants("views"):
        log("== views: every view rebuilt from Kafka, against a raw read; reads under load")
        if alongside:
            log("   then, on the same year: " + ", ".join(name for name, _ in alongside))
        results.update(await bench_views(settings, log, also=also if alongside else None))
    elif alongside:
        log("== " + ", ".join(name for name, _ in alongside) + ": a year's subdistrict, built once")
        results.update(await bench_views(settings, log, rebuilds=False, also=also))
    if settings.wants("views_fresh"):
        log("== views: a pushed ticket in its grid's dashboard while the intake runs")
        results.update(await bench_views_fresh(settings, log))
    if settings.wants("memory"):
        log("== memory (fresh processes)")
        results.update(await bench_memory(settings, log))
    elapsed = time.perf_counter() - started
    info = report.machine(await server_version(settings), load_start)
    print(report.render_terminal(results, settings, info))
    docs = os.environ.get("BENCH_DOCS", "" if settings.only else "docs/benchmarks.md")
    if docs:
        report.write_docs(report.render_markdown(results, settings, info, elapsed), Path(docs))
        log(f"== wrote {docs} ({elapsed / 60:.1f} minutes)")


if __name__ == "__main__":
    asyncio.run(main())
