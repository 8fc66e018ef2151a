"""The analysts' replay: the full subdistrict's year of all four producers' topics exported to
Parquet (``wangge replay export``'s code, without the record), with one worker and with two,
against a raw aiokafka read of the same records (the views bench's ``_raw_read``). Each export
runs in a fresh process, polled for its tree's resident memory: the peak is the largest of its
processes. Targets: >= 0.50x the raw read with one worker, peak RSS < 300 MB; the speed-up
with two is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import psutil  # type: ignore[import-untyped]

from benchmarks.common import Measurement, Settings
from benchmarks.views import UPSTREAM, _raw_read, _Year
from wangge.events.kafka import topic_for

RATE_TARGET = 0.50
RSS_LIMIT_MB = 300.0


async def _export(settings: Settings, topics: list[str], workers: int) -> tuple[int, float, float]:
    """(events, seconds, peak RSS MB of any of its processes) of one export in a fresh process."""
    out = Path(tempfile.mkdtemp(prefix="wangge-replay-bench-")) / "dataset"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.replay_child", out, settings.kafka, str(workers),
        *topics,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    peak = 0.0
    tree = psutil.Process(process.pid)
    try:
        while process.returncode is None:
            try:
                members = [tree, *tree.children(recursive=True)]
                peak = max(peak, *(m.memory_info().rss / 2**20 for m in members))
            except psutil.NoSuchProcess:
                pass
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 0.2)
        assert process.stdout is not None
        printed = json.loads((await process.stdout.read()).decode())
        assert process.returncode == 0
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    return int(printed["offsets"]), float(printed["seconds"]), peak


async def bench_replay(
    settings: Settings, year: _Year, log: Callable[[str], None]
) -> dict[str, Measurement]:
    """The export of the year's four topics against their raw read."""
    topics = [topic_for(service, year.namespace) for service in UPSTREAM]
    raws = [await _raw_read(settings.kafka, topics) for _ in range(settings.runs)]
    count, seconds = min(raws, key=lambda run: run[1])
    raw_rate = count / seconds
    log(f"   raw read of the four topics: {count:,} records in {seconds:.2f} s "
        f"({raw_rate:,.0f}/s)")  # fmt: skip
    results = {"rpl_raw": Measurement("raw aiokafka read, four topics", "records/s", [raw_rate])}
    rates: dict[int, float] = {}
    for workers in (1, 2):
        runs = [await _export(settings, topics, workers) for _ in range(settings.runs)]
        events, took, peak = min(runs, key=lambda run: run[1])
        assert events == count, (events, count)
        rates[workers] = events / took
        log(f"   export with {workers} worker(s): {took:.1f} s, {rates[workers]:,.0f} events/s, "
            f"{rates[workers] / raw_rate:.2f}x the raw read; peak RSS {peak:.0f} MB")  # fmt: skip
        results[f"rpl_export_{workers}"] = Measurement(
            f"replay export, {workers} worker(s)", "events/s", [rates[workers]]
        )
        results[f"rpl_rss_{workers}"] = Measurement(
            f"replay export, {workers} worker(s): peak RSS of a process", "MB", [peak]
        )
    log(f"   two workers: {rates[2] / rates[1]:.2f}x one")
    return results
