"""``wangge-events``: run the relay or a projection, deal with parked events, publish the event
contract, try the demo."""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib
import logging
import math
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.catalogue import Catalogue, default_catalogue
from wangge.events.faults import quiet_repeats
from wangge.events.supervision import Healthy, Supervised, supervise


def _load(spec: str) -> Any:
    """The object named by ``module:attribute``."""
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


def _catalogue(spec: str | None) -> Catalogue:
    """``module:attribute`` of a catalogue, or ``module`` to import into the default one."""
    if not spec:
        return default_catalogue
    loaded = _load(spec)
    if ":" not in spec:
        return default_catalogue
    if not isinstance(loaded, Catalogue):
        raise SystemExit(f"{spec} is not a Catalogue")
    return loaded


def _engine(args: argparse.Namespace) -> AsyncEngine:
    from wangge.events.db import create_engine

    kwargs: dict[str, Any] = {}
    if args.schema:
        kwargs["connect_args"] = {"server_settings": {"search_path": args.schema}}
    return create_engine(args.database_url, **kwargs)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _relay(args: argparse.Namespace) -> None:
    from wangge.events.contract import published_catalogue
    from wangge.events.kafka import ensure_topics, topic_for
    from wangge.events.relay import OutboxRelay
    from wangge.events.store import open_store

    engine = _engine(args)
    # every service's event models, from the entry points, unless one catalogue is named
    catalogue = _catalogue(args.catalogue) if args.catalogue else published_catalogue()
    store = open_store(engine, service=args.service, catalogue=catalogue)
    topic = args.topic or topic_for(args.service)
    relay = OutboxRelay(
        store, bootstrap_servers=args.bootstrap_servers, topic=topic, batch_size=args.batch_size
    )
    stop = _stop_on_signals()

    async def publish(healthy: Healthy) -> None:
        await ensure_topics(args.bootstrap_servers, [topic], partitions=args.partitions)
        await relay.run(stop, healthy)

    try:
        # only a signal ends it: a database or broker outage is waited out
        await supervise(publish, stop, health=Supervised(relay.name, healthy_after=math.inf))
    finally:
        await engine.dispose()


async def _project(args: argparse.Namespace) -> None:
    from wangge.events.projection import Projection, ProjectionRunner
    from wangge.events.sources import KafkaSource, Source
    from wangge.events.store import open_store

    factory = _load(args.projection)
    projection = factory() if callable(factory) else factory
    if not isinstance(projection, Projection):
        raise SystemExit(f"{args.projection} does not make a Projection")
    engine = _engine(args)
    source: Source
    if args.topic:
        source = KafkaSource(
            args.bootstrap_servers,
            args.topic,
            group_id=args.group or f"wangge.projection.{projection.name}",
        )
    else:
        from wangge.events.sources import StoreSource

        source = StoreSource(
            open_store(engine, service=args.service, catalogue=projection.catalogue)
        )
    runner = ProjectionRunner(projection, engine=engine, source=source, batch_size=args.batch_size)
    stop = _stop_on_signals()
    try:
        if args.rebuild:
            await runner.rebuild()
        await supervise(
            functools.partial(runner.run, stop),
            stop,
            health=Supervised(projection.name, healthy_after=math.inf),
        )
    finally:
        await engine.dispose()


async def _parked(args: argparse.Namespace) -> int:
    from wangge.events import parking

    engine = _engine(args)
    try:
        if args.action == "list":
            found = await parking.list_parked(
                engine, projection=args.projection, stream_id=args.stream
            )
            if found:
                print(parking.describe(found))
            print(f"{len(found)} parked events", file=sys.stderr)
            return 0
        if not args.projection:
            raise SystemExit(f"parked {args.action} needs --projection")
        if args.action == "skip":
            if not args.stream:
                raise SystemExit("parked skip needs --stream: skipping is one stream's decision")
            count = await parking.skip(engine, projection=args.projection, stream_id=args.stream)
            print(f"{count} parked events skipped (marked applied without applying)")
            return 0
        asked = await parking.request_retry(
            engine, projection=args.projection, stream_id=args.stream
        )
        print(f"{asked} parked events to retry; the projection's runner applies them in order")
        left = await _await_retry(engine, args, asked)
        if left:
            print(parking.describe(left))
            print(f"{len(left)} still parked", file=sys.stderr)
            return 1
        return 0
    finally:
        await engine.dispose()


async def _await_retry(engine: AsyncEngine, args: argparse.Namespace, asked: int) -> list[Any]:
    """Wait (up to ``--wait`` seconds) until the runner has dealt with the retry; what is
    still parked after it (the handler still fails), or everything if it has not run."""
    from wangge.events import parking

    deadline = asyncio.get_running_loop().time() + args.wait
    while True:
        left = await parking.list_parked(engine, projection=args.projection, stream_id=args.stream)
        if not any(event.retry_requested for event in left) or not asked:
            return left
        if asyncio.get_running_loop().time() >= deadline:
            print(
                f"the retry is still pending after {args.wait:.0f} s: is the projection's "
                "service running?",
                file=sys.stderr,
            )
            return left
        await asyncio.sleep(0.5)


def _schemas(args: argparse.Namespace) -> None:
    from wangge.events.contract import published_catalogue, write_contract

    catalogue = _catalogue(args.catalogue) if args.catalogue else published_catalogue()
    written = write_contract(catalogue, Path(args.out))
    for path in written:
        print(path)


def _demo(args: argparse.Namespace) -> None:
    from wangge.events.demo import run_demo

    asyncio.run(run_demo(Path(args.data_dir), serve=not args.once))


def _database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--schema", help="PostgreSQL schema of the tables (search_path)")
    parser.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``wangge-events`` command."""
    parser = argparse.ArgumentParser(prog="wangge-events", description=__doc__)
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)

    relay = commands.add_parser("relay", help="publish a service's event table to Kafka")
    relay.add_argument("--service", required=True, help="the service whose events to publish")
    _database_arguments(relay)
    relay.add_argument("--topic", help="default: wangge.<service>.events")
    relay.add_argument("--partitions", type=int, default=12, help="when creating the topic")
    relay.add_argument("--batch-size", type=int, default=1000)
    relay.add_argument(
        "--catalogue",
        help="module[:attribute] that registers the event models (default: every service's)",
    )

    project = commands.add_parser("project", help="run a projection (from Kafka or the store)")
    project.add_argument(
        "--projection", required=True, help="module:attribute of a Projection or a factory of one"
    )
    _database_arguments(project)
    project.add_argument("--topic", action="append", help="read these topics (else the store)")
    project.add_argument("--group", help="consumer group (default wangge.projection.<name>)")
    project.add_argument("--service", default="", help="the store's service, without --topic")
    project.add_argument("--batch-size", type=int, default=500)
    project.add_argument("--rebuild", action="store_true", help="rebuild first, then follow")

    parked = commands.add_parser(
        "parked", help="events a projection could not apply: list, retry or skip them"
    )
    parked.add_argument("action", choices=["list", "retry", "skip"])
    _database_arguments(parked)
    parked.add_argument("--projection", help="the projection's name (all, for list)")
    parked.add_argument("--stream", help="one stream's parked events (all of the projection's)")
    parked.add_argument(
        "--wait", type=float, default=30.0, help="seconds a retry waits for its outcome"
    )

    schemas = commands.add_parser("schemas", help="write JSON Schemas and the AsyncAPI document")
    schemas.add_argument("--out", default="docs/events")
    schemas.add_argument(
        "--catalogue",
        default=None,
        help="module[:attribute] of one catalogue (default: every service's and the demo's)",
    )

    demo = commands.add_parser("demo", help="append and project events on SQLite (make run)")
    demo.add_argument("--data-dir", default="var")
    demo.add_argument("--once", action="store_true", help="seed, project, print and exit")

    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format='{"time":"%(asctime)s","level":"%(levelname)s",'
        '"logger":"%(name)s","message":%(message)r}',
    )
    for handler in logging.getLogger().handlers:
        quiet_repeats(handler)  # reconnect attempts while a dependency is down: once, counted
    if args.command in ("relay", "project"):
        if not args.database_url:
            parser.error(f"{args.command} needs --database-url (or DATABASE_URL)")
        needs_kafka = args.command == "relay" or args.topic
        if needs_kafka and not args.bootstrap_servers:
            parser.error(f"{args.command} needs --bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS)")
        asyncio.run(_relay(args) if args.command == "relay" else _project(args))
    elif args.command == "parked":
        if not args.database_url:
            parser.error("parked needs --database-url (or DATABASE_URL)")
        raise SystemExit(asyncio.run(_parked(args)))
    elif args.command == "schemas":
        _schemas(args)
    elif args.command == "demo":
        _demo(args)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
