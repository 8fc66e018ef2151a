"""The analysts' replay: the full subdistrict's year of all four producers' topics exported to
Parquet (``wangge replay export``'s code, without the record), with one worker and with two,
against a raw aiokafka read of the same records (``benchmarks.raw_read``). Each export and each
raw read runs in a fresh process that imports only the replay, polled for its tree's resident
memory: the peak is the largest of its processes. Targets: >= 0.50x the raw read with one
worker, peak RSS < 300 MB; the speed-up with two is reported.

An export worker freezes its starting heap and collects young objects every 50,000 allocations
(``collector_for_batches``); the raw read is also timed with the collector set so, and the
export's ratio to that is reported beside the target's (the same setting makes the bare read
faster too, so the honest overhead of the export is the second ratio).
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
from benchmarks.views import PARTITIONS, UPSTREAM, _Year
from wangge.events.kafka import topic_for

RATE_TARGET = 0.50
RSS_LIMIT_MB = 300.0


async def _export(settings: Settings, topics: list[str], workers: int) -> tuple[int, float, float]:
    """(events, seconds, peak RSS MB of any of its processes) of one export in a fresh process."""
    out = Path(tempfile.mkdtemp(prefix="wangge-replay-bench-")) / "dataset"
    try:
        return await _child("export", str(out), settings.kafka, str(workers), *topics)
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


async def _raw(settings: Settings, topics: list[str], mode: str) -> tuple[int, float, float]:
    """(records, seconds, peak RSS MB) of one raw read in a fresh process."""
    return await _child(mode, settings.kafka, str(PARTITIONS), *topics)


async def _child(*args: str) -> tuple[int, float, float]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "benchmarks.replay_child", *args, stdout=asyncio.subprocess.PIPE
    )
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
        if process.returncode is None:
            process.kill()
    return int(printed["offsets"]), float(printed["seconds"]), peak


async def bench_replay(
    settings: Settings, year: _Year, log: Callable[[str], None]
) -> dict[str, Measurement]:
    """The export of the year's four topics against their raw read."""
    topics = [topic_for(service, year.namespace) for service in UPSTREAM]
    raws = [await _raw(settings, topics, "raw") for _ in range(settings.runs)]
    count, seconds, _ = min(raws, key=lambda run: run[1])
    raw_rate = count / seconds
    log(f"   raw read of the four topics: {count:,} records in {seconds:.2f} s "
        f"({raw_rate:,.0f}/s)")  # fmt: skip
    tuned = [await _raw(settings, topics, "raw-batch-gc") for _ in range(settings.runs)]
    tuned_rate = count / min(run[1] for run in tuned)
    log(f"   the same with an export worker's collector settings: {tuned_rate:,.0f}/s")
    results = {
        "rpl_raw": Measurement("raw aiokafka read, four topics", "records/s", [raw_rate]),
        "rpl_raw_gc": Measurement(
            "raw aiokafka read, four topics, a worker's collector settings", "records/s",
            [tuned_rate],
        ),
    }  # fmt: skip
    rates: dict[int, float] = {}
    for workers in (1, 2):
        runs = [await _export(settings, topics, workers) for _ in range(settings.runs)]
        events, took, peak = min(runs, key=lambda run: run[1])
        assert events == count, (events, count)
        rates[workers] = events / took
        log(f"   export with {workers} worker(s): {took:.1f} s, {rates[workers]:,.0f} events/s, "
            f"{rates[workers] / raw_rate:.2f}x the raw read "
            f"({rates[workers] / tuned_rate:.2f}x it with the worker's collector settings); "
            f"peak RSS {peak:.0f} MB")  # fmt: skip
        results[f"rpl_export_{workers}"] = Measurement(
            f"replay export, {workers} worker(s)", "events/s", [rates[workers]]
        )
        results[f"rpl_rss_{workers}"] = Measurement(
            f"replay export, {workers} worker(s): peak RSS of a process", "MB", [peak]
        )
    log(f"   two workers: {rates[2] / rates[1]:.2f}x one")
    return results
