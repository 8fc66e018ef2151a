"""A rebuild that applies its topics side by side, one process per share of them.

A view of four services' topics rebuilt in one process is bound by that process's one core: it
unpacks, decodes and folds every record itself (about 20 µs each), while the database's own
work fills a fraction of a second core. When a projection declares its sources apart
(:attr:`~wangge.events.projection.Projection.sources_apart`: the events of each service read
and write only rows that events of the same service write), its topics can be applied in any
interleaving, and so by several processes at once: each applies its share into the same new
generation, with its own stream versions (a stream lives in one topic) and its own source
positions (a partition belongs to one share). The rows are those one process would leave.

The shares are forked from the rebuilding process (a fork copies the projection and its table
definitions, which a fresh interpreter would have to rebuild from the service's settings); a
forked process opens its own event loop, database connections and Kafka consumer and never
touches its parent's. The parent applies the largest share itself. Only on PostgreSQL and Kafka:
SQLite has one writer at a time, and an event table is one source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from wangge.events import tuning
from wangge.events.sources import KafkaSource

log = logging.getLogger(__name__)

CatchUp = Callable[[KafkaSource], Awaitable[int]]
"""Applies everything a started source holds up to its ends into the rebuild's generation;
returns how many events it applied."""


def processes_for(source: Any, dialect: str, sources_apart: bool) -> int:
    """How many processes a rebuild over ``source`` may use (1: applied in this one alone)."""
    if not (
        sources_apart
        and tuning.FAST_PATHS.rebuild_apart
        and dialect == "postgresql"
        and isinstance(source, KafkaSource)
        and len(source.topics) > 1
        and "fork" in multiprocessing.get_all_start_methods()
        # a daemonic process (a pool's worker) may not start processes of its own
        and not multiprocessing.current_process().daemon
    ):
        return 1
    return max(1, min(tuning.REBUILD_PROCESSES, len(source.topics)))


async def records_per_topic(source: KafkaSource) -> dict[str, int]:
    """Records each of the source's topics holds now (end minus beginning offsets)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=source.bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(source.topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], p["partition"])
        for topic in described
        if not topic["error_code"]
        for p in topic["partitions"]
    ]
    counts = dict.fromkeys(source.topics, 0)
    if not partitions:
        return counts
    consumer = AIOKafkaConsumer(
        bootstrap_servers=source.bootstrap_servers, enable_auto_commit=False
    )
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
    finally:
        await consumer.stop()
    for tp in partitions:
        counts[tp.topic] += ends[tp] - starts[tp]
    return counts


def shares(counts: dict[str, int], processes: int) -> list[list[str]]:
    """The topics dealt out to ``processes`` shares, the largest topic first to the share
    holding the fewest records (of two alike, the one of fewer topics); the largest share
    first. Empty shares are left out."""
    dealt: list[tuple[int, list[str]]] = [(0, []) for _ in range(processes)]
    for topic in sorted(counts, key=lambda t: (-counts[t], t)):
        index = min(range(processes), key=lambda i: (dealt[i][0], len(dealt[i][1]), i))
        total, topics = dealt[index]
        dealt[index] = (total + counts[topic], [*topics, topic])
    return [topics for _, topics in sorted(dealt, key=lambda d: -d[0]) if topics]


async def catch_up_apart(
    source: KafkaSource,
    processes: int,
    catch_up: CatchUp,
    *,
    dispose: Callable[[], Awaitable[None]],
    name: str,
) -> int:
    """Apply ``source``'s topics in shares, side by side: the largest here, each other in a
    forked process; returns how many events they applied. ``dispose`` drops the forked copy's
    inherited database connections without closing them (they are its parent's). Raises when
    any share failed; the rebuild's generation is then left unswapped, as a failed rebuild in
    one process leaves it."""
    dealt = shares(await records_per_topic(source), processes)
    if len(dealt) < 2:
        return await _apply_share(source, source.topics, 0, catch_up)
    log.info("projection %s rebuilds its topics side by side: %s", name, dealt)
    context = multiprocessing.get_context("fork")
    children = []
    for index, topics in enumerate(dealt[1:], start=1):
        applied = context.Value("q", 0, lock=False)
        child = context.Process(
            target=_forked,
            args=(source, topics, index, catch_up, dispose, applied),
            name=f"rebuild {name} {index}",
            daemon=True,
        )
        child.start()
        children.append((child, topics, applied))
    try:
        total = await _apply_share(source, dealt[0], 0, catch_up)
        for child, topics, applied in children:
            await asyncio.to_thread(child.join)
            if child.exitcode != 0:
                raise RuntimeError(
                    f"rebuild of {name}: the process applying {', '.join(topics)} failed "
                    f"(exit code {child.exitcode}; its log says why)"
                )
            total += applied.value
        return total
    finally:
        for child, _topics, _applied in children:
            if child.exitcode is None:
                child.kill()
            with contextlib.suppress(Exception):
                child.join(timeout=5)


async def _apply_share(
    source: KafkaSource, topics: Sequence[str], index: int, catch_up: CatchUp
) -> int:
    share = source.share(topics, index)
    try:
        return await catch_up(share)
    finally:
        await share.stop()


def _forked(
    source: KafkaSource,
    topics: Sequence[str],
    index: int,
    catch_up: CatchUp,
    dispose: Callable[[], Awaitable[None]],
    applied: Any,
) -> None:
    """A forked share: an event loop of its own (the parent's is never run here), its
    inherited connections let go, its share applied; then out, without the parent's exit
    handlers (they would close what the parent still uses)."""
    code = 1
    try:
        # a signal here must not wake the parent's loop through the descriptor it inherited
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(-1)
        loop = asyncio.SelectorEventLoop()
        asyncio.set_event_loop(loop)

        async def run() -> None:
            await dispose()
            applied.value = await _apply_share(source, topics, index, catch_up)

        loop.run_until_complete(run())
        code = 0
    except BaseException:
        log.exception("rebuild share %s (%s) failed", index, ", ".join(topics))
    finally:
        os._exit(code)
