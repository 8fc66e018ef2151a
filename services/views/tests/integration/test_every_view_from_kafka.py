"""Every view built from Kafka has the rows it has when built from the producers' event tables:
the scenario's month is published to the producers' topics (a namespace of the test's own), and
the views on PostgreSQL read it once through consumer groups, once from the tables."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from wangge.events import tuning
from wangge.events.kafka import ensure_topics, topic_for
from wangge.events.projection import ProjectionRunner
from wangge.events.relay import OutboxRelay
from wangge.events.sources import KafkaSource
from wangge.views.bootstrap import ViewsCore
from wangge.views.projections.dashboard import Dashboard
from wangge.views.projections.residents import Residents

from scenario_support import play
from views_support import Upstream, comparable, rows_of, settings_for, upstream_stores, views_core

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

PARTITIONS = 2


async def _publish(upstream: Upstream, bootstrap: str, namespace: str) -> None:
    """Every producer's events on its topic, acknowledged by the broker."""
    for service, store in upstream.stores.items():
        topic = topic_for(service, namespace)
        await ensure_topics(bootstrap, [topic], partitions=PARTITIONS)
        total = len(await store.read_all(limit=100_000))
        relay = OutboxRelay(store, bootstrap_servers=bootstrap, topic=topic)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        for _ in range(600):
            if relay.published >= total or task.done():
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task
        assert relay.published >= total


async def _from_kafka(core: ViewsCore, bootstrap: str, namespace: str) -> None:
    """Each view's runner reads its topics until it has nothing left to apply."""
    for projection in core.projections:
        topics = [topic_for(s, namespace) for s in projection.reads]
        runner = ProjectionRunner(
            projection,
            engine=core.store.engine,
            source=KafkaSource(bootstrap, topics, group_id=f"{namespace}.views.{projection.name}"),
        )
        await runner.start()
        try:
            for _ in range(400):
                await runner.run_once()
                if runner.applied and await runner.lag() == 0:
                    break
            else:
                raise AssertionError(f"{projection.name} did not catch up from Kafka")
        finally:
            await runner.stop()


@contextlib.asynccontextmanager
async def _scenario_on_kafka(tmp_path: Path, bootstrap: str) -> AsyncIterator[tuple[Upstream, str]]:
    """The scenario's month in the producers' stores and on their topics (a namespace of the
    test's own, named in the second item)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    async with upstream_stores(tmp_path) as upstream:
        await play(upstream)
        await _publish(upstream, bootstrap, namespace)
        yield upstream, namespace


async def _rows(core: ViewsCore) -> dict[str, Any]:
    return {p.name: comparable(p.name, await rows_of(core, p.name)) for p in core.projections}


async def test_every_view_from_kafka_has_the_rows_it_has_from_the_event_tables(
    tmp_path: Path, database_url: str, kafka_bootstrap: str
) -> None:
    async with _scenario_on_kafka(tmp_path, kafka_bootstrap) as (upstream, namespace):
        async with views_core(settings_for("postgres", tmp_path, database_url)) as core:
            await core.catch_up(upstream=upstream.stores)
            from_tables = await _rows(core)
            # the feeds read the views' own topic too (the clock's closed days)
            await _publish(Upstream({"views": core.store}), kafka_bootstrap, namespace)
        async with views_core(settings_for("postgres", tmp_path, database_url)) as core:
            await _from_kafka(core, kafka_bootstrap, namespace)
            from_kafka = await _rows(core)
    assert all(any(rows.values()) for rows in from_tables.values())  # each view shows something
    assert from_kafka == from_tables


@pytest.mark.fast_path
async def test_views_whose_sources_are_apart_rebuilt_side_by_side_have_the_same_rows(
    tmp_path: Path,
    database_url: str,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A rebuild of the dashboard and the 360 applies its topics in two processes (the
    largest share here, the others forked), and leaves the rows the event tables give."""
    monkeypatch.setattr(tuning, "REBUILD_PROCESSES", 2)
    async with (
        _scenario_on_kafka(tmp_path, kafka_bootstrap) as (upstream, namespace),
        views_core(settings_for("postgres", tmp_path, database_url)) as core,
    ):
        await core.catch_up(upstream=upstream.stores)
        apart = [p for p in core.projections if p.sources_apart]
        assert {p.name for p in apart} == {Dashboard.name, Residents.name}
        from_tables = {p.name: comparable(p.name, await rows_of(core, p.name)) for p in apart}
        with caplog.at_level(logging.INFO, logger="wangge.events.projection.apart"):
            for projection in apart:
                topics = [topic_for(s, namespace) for s in projection.reads]
                runner = ProjectionRunner(
                    projection, engine=core.store.engine,
                    source=KafkaSource(kafka_bootstrap, topics, group_id=f"{namespace}.v"),
                )  # fmt: skip
                await runner.setup()
                await runner.rebuild()
                assert runner.applied > 0
        rebuilt = {p.name: comparable(p.name, await rows_of(core, p.name)) for p in apart}
    side_by_side = [r.getMessage() for r in caplog.records if "side by side" in r.getMessage()]
    assert len(side_by_side) == 2, side_by_side
    assert rebuilt == from_tables
