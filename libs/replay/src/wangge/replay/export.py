"""An export: its bounds fixed, its workers run (processes of one consumer group), its progress
shown, until every source partition is written to its end."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
from aiokafka import AIOKafkaConsumer

from wangge.events.contract import published_catalogue
from wangge.replay import CHUNK
from wangge.replay import policy as policies
from wangge.replay.asof import write_as_of
from wangge.replay.dataset import FORMATS, Bounds, Dataset, Manifest
from wangge.replay.iceberg import publish
from wangge.replay.kafka_reader import kafka_bounds, kafka_worker, parent_alive
from wangge.replay.pseudonyms import key_id, pseudonymiser
from wangge.replay.rows import Rows, identifiers_in_clear_anywhere
from wangge.replay.table_reader import table_bounds, table_worker

AS_OF_DEFAULT = (
    "wangge.views.projections.roster:Roster",
    "wangge.views.projections.residents:Residents",
)
"""The views' place tree and residents: where each resident lived and as what, on a day."""


@dataclass(frozen=True)
class Options:
    """What to export, from where, and how (picklable: handed to worker processes)."""

    out: Path
    key: bytes
    policy_text: str = field(default_factory=policies.default_text)
    topics: tuple[str, ...] | None = None
    """None: every ``<namespace>.<service>.events`` topic (or every table)."""
    namespace: str = "wangge"
    bootstrap_servers: str | None = None
    data_dir: Path | None = None
    since: datetime | None = None
    until: datetime | None = None
    format: str = "parquet"
    workers: int = 1
    chunk: int = CHUNK
    extend: bool = False
    as_of: date | None = None
    """also write these projections' tables as they stood at the end of this day"""
    projections: tuple[str, ...] = AS_OF_DEFAULT
    iceberg: str | None = None
    """also publish the dataset to Iceberg tables in the SQL catalog at this URI"""
    iceberg_namespace: str = "wangge_replay"

    def __post_init__(self) -> None:
        if (self.bootstrap_servers is None) == (self.data_dir is None):
            raise ValueError("export from Kafka (bootstrap servers) or from tables (a data folder)")
        if self.format not in FORMATS:
            raise ValueError(f"format: one of {', '.join(FORMATS)}")
        if self.iceberg is not None and self.format != "parquet":
            raise ValueError("iceberg: only a Parquet dataset is published to Iceberg")
        if self.workers < 1 or self.chunk < 1:
            raise ValueError("workers and chunk are at least 1")


@dataclass(frozen=True)
class Summary:
    """What a run did."""

    manifest: Manifest
    offsets: int
    """offsets of the export written by this run"""
    seconds: float
    as_of: dict[str, int] = field(default_factory=dict)
    """rows of each projection table written as of the day asked"""
    iceberg: dict[str, int] = field(default_factory=dict)
    """rows of each Iceberg table published (a table whose files did not change is not)"""


async def _topics(options: Options) -> list[str]:
    if options.topics is not None:
        return list(options.topics)
    pattern = re.compile(rf"^{re.escape(options.namespace)}\.[a-z_]+\.events$")
    assert options.bootstrap_servers is not None
    consumer = AIOKafkaConsumer(bootstrap_servers=options.bootstrap_servers)
    await consumer.start()
    try:
        return sorted(t for t in await consumer.topics() if pattern.match(t))
    finally:
        await consumer.stop()


async def plan(options: Options) -> Manifest:
    """The export's manifest: its sources' bounds now, and how it is written."""
    sources: dict[str, dict[int, Bounds]]
    if options.bootstrap_servers is not None:
        topics = await _topics(options)
        sources = await kafka_bounds(
            options.bootstrap_servers, topics, since=options.since, until=options.until
        )
    else:
        assert options.data_dir is not None
        wanted = list(options.topics) if options.topics is not None else None
        sources = await table_bounds(
            options.data_dir, wanted, since=options.since, until=options.until
        )
    return Manifest(
        sources,
        options.format,
        options.chunk,
        policies.parse(options.policy_text).digest,
        key_id(options.key),
        None if options.since is None else options.since.isoformat(),
        None if options.until is None else options.until.isoformat(),
    )


def _rows(options: Options) -> Rows:
    # freed buffers go back to the system: Arrow's default pool kept a chunk's peak (about
    # 50 MB of a worker's resident memory) for the rest of the run, at no gain in speed
    pa.set_memory_pool(pa.system_memory_pool())
    return Rows(
        published_catalogue(), policies.parse(options.policy_text), pseudonymiser(options.key)
    )


@contextlib.contextmanager
def collector_for_batches() -> Iterator[None]:
    """The cyclic collector set for a worker's batches, and set back after.

    A worker keeps a chunk's tens of thousands of events while it reads hundreds of thousands
    more; at Python's default thresholds the collector walked them, and every model and plan
    compiled at the start, after each few hundred messages: a third of a lone worker's time on
    a subdistrict's year. What exists when the worker starts is frozen (it lives as long as the
    worker), and the youngest generation is collected every 50,000 allocations, not 700."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


async def work(
    options: Options,
    manifest: Manifest,
    group_id: str,
    index: int,
    *,
    alive: Callable[[], bool] = lambda: True,
    rows: Rows | None = None,
) -> int:
    """One worker's part of the export (with ``rows``, the layouts of every type compiled);
    the events it gathered."""
    dataset = Dataset(options.out)
    if rows is None:
        rows = _rows(options)
        for entry in rows.catalogue:  # compiled before the collector freezes what exists
            rows.layout(entry.type)
    with collector_for_batches():
        if options.bootstrap_servers is not None:
            group = group_id if options.workers > 1 else None
            return await kafka_worker(
                dataset, manifest, rows, options.bootstrap_servers, group, alive=alive
            )
        assert options.data_dir is not None
        topics = sorted(manifest.sources)
        return await table_worker(
            dataset,
            manifest,
            rows,
            options.data_dir,
            rows.catalogue,
            share=lambda topic: topics.index(topic) % options.workers == index,
        )


def _worker_process(
    options: Options, manifest: Manifest, group_id: str, index: int, parent: int
) -> None:
    asyncio.run(work(options, manifest, group_id, index, alive=parent_alive(parent)))


Progress = Callable[[int, int], None]
"""Told (offsets written, offsets in all) as the export goes."""


Recorder = Callable[[Manifest, bool], Awaitable[str]]
"""Records an export (its manifest, whether pseudonymised) before it starts; the record's id."""


def pseudonymises(options: Options) -> bool:
    """Whether the export's policy keyed-hashes or leaves out every identifier of every type."""
    policy = policies.parse(options.policy_text)
    return not identifiers_in_clear_anywhere(published_catalogue(), policy)


async def run(
    options: Options, *, progress: Progress | None = None, recorder: Recorder | None = None
) -> Summary:
    """Run (or go on with) an export until it is written to its end; with ``recorder``, only
    once it recorded the export."""
    began = time.perf_counter()
    rows = _rows(options)
    for entry in rows.catalogue:  # a rule that cannot apply stops the export before it starts
        rows.layout(entry.type)
    dataset = Dataset(options.out)
    planned = await plan(options)
    dataset.check(planned)  # a folder that cannot take it refuses before anything is recorded
    recorded = None
    if recorder is not None:  # nothing is written, not even the manifest, before the record
        recorded = await recorder(planned, pseudonymises(options))
    manifest = dataset.begin(planned, extend=options.extend)
    if recorded is not None:
        dataset.note_run(recorded)
    total = sum(b.end - b.start for _, _, b in manifest.units())
    before = dataset.done(manifest)
    group_id = f"wangge.replay.{uuid.uuid4().hex}"
    watching = asyncio.create_task(_watch(dataset, manifest, total, progress))
    try:
        if options.workers == 1:
            await work(options, manifest, group_id, 0, rows=rows)
        else:
            await _processes(options, manifest, group_id)
    finally:
        watching.cancel()
    if progress is not None:
        progress(dataset.done(manifest), total)
    if not dataset.finished(manifest):
        raise RuntimeError("the export's workers stopped before its end: run it again to go on")
    tables: dict[str, int] = {}
    if options.as_of is not None:
        tables = await write_as_of(
            options.out, options.as_of, options.projections, rows.policy, rows.pseudonym,
            bootstrap_servers=options.bootstrap_servers, namespace=options.namespace,
            data_dir=options.data_dir,
        )  # fmt: skip
    published: dict[str, int] = {}
    if options.iceberg is not None:
        published = await asyncio.to_thread(
            publish, options.out, options.iceberg, namespace=options.iceberg_namespace
        )
    done = dataset.done(manifest) - before
    return Summary(manifest, done, time.perf_counter() - began, tables, published)


async def _processes(options: Options, manifest: Manifest, group_id: str) -> None:
    context = multiprocessing.get_context("spawn")
    parent = os.getpid()
    processes = [
        context.Process(
            target=_worker_process, args=(options, manifest, group_id, index, parent), daemon=True
        )
        for index in range(options.workers)
    ]
    for process in processes:
        process.start()
    try:
        for process in processes:
            await asyncio.to_thread(process.join)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
    failed = [p.exitcode for p in processes if p.exitcode]
    if failed:
        raise RuntimeError(f"{len(failed)} worker(s) failed (exit codes {failed})")


async def _watch(
    dataset: Dataset, manifest: Manifest, total: int, progress: Progress | None
) -> None:
    if progress is None:
        return
    while True:
        progress(dataset.done(manifest), total)
        await asyncio.sleep(0.5)
