"""``wangge-events``: run the relay or a projection, publish the event contract, try the demo."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.catalogue import Catalogue, default_catalogue


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
    from wangge.events.kafka import ensure_topics, topic_for
    from wangge.events.relay import OutboxRelay
    from wangge.events.store import open_store

    engine = _engine(args)
    store = open_store(engine, service=args.service, catalogue=_catalogue(args.catalogue))
    topic = args.topic or topic_for(args.service)
    await ensure_topics(args.bootstrap_servers, [topic], partitions=args.partitions)
    relay = OutboxRelay(
        store, bootstrap_servers=args.bootstrap_servers, topic=topic, batch_size=args.batch_size
    )
    try:
        await relay.run(_stop_on_signals())
    finally:
        await engine.dispose()


async def _project(args: argparse.Namespace) -> None:
    from wangge.events.projection import KafkaSource, Projection, ProjectionRunner, Source
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
        from wangge.events.projection import StoreSource

        source = StoreSource(
            open_store(engine, service=args.service, catalogue=projection.catalogue)
        )
    runner = ProjectionRunner(projection, engine=engine, source=source, batch_size=args.batch_size)
    try:
        if args.rebuild:
            await runner.rebuild()
        await runner.run(_stop_on_signals())
    finally:
        await engine.dispose()


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
    relay.add_argument("--catalogue", help="module[:attribute] that registers the event models")

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
    if args.command in ("relay", "project"):
        if not args.database_url:
            parser.error(f"{args.command} needs --database-url (or DATABASE_URL)")
        needs_kafka = args.command == "relay" or args.topic
        if needs_kafka and not args.bootstrap_servers:
            parser.error(f"{args.command} needs --bootstrap-servers (or KAFKA_BOOTSTRAP_SERVERS)")
        asyncio.run(_relay(args) if args.command == "relay" else _project(args))
    elif args.command == "schemas":
        _schemas(args)
    elif args.command == "demo":
        _demo(args)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
