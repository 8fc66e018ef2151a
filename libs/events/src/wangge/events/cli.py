"""``wangge-events``: run the outbox relay, publish the event contract, try the embedded demo."""

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

from wangge.events.catalogue import Catalogue, default_catalogue


def _catalogue(spec: str | None) -> Catalogue:
    """``module:attribute`` of a catalogue, or ``module`` to import into the default one."""
    if not spec:
        return default_catalogue
    module_name, _, attribute = spec.partition(":")
    module = importlib.import_module(module_name)
    if not attribute:
        return default_catalogue
    catalogue = getattr(module, attribute)
    if not isinstance(catalogue, Catalogue):
        raise SystemExit(f"{spec} is not a Catalogue")
    return catalogue


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def _relay(args: argparse.Namespace) -> None:
    from wangge.events.db import create_engine
    from wangge.events.kafka import ensure_topics, topic_for
    from wangge.events.relay import OutboxRelay
    from wangge.events.store import open_store

    kwargs: dict[str, Any] = {}
    if args.schema:
        kwargs["connect_args"] = {"server_settings": {"search_path": args.schema}}
    engine = create_engine(args.database_url, **kwargs)
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


def _schemas(args: argparse.Namespace) -> None:
    from wangge.events.contract import write_contract

    written = write_contract(_catalogue(args.catalogue), Path(args.out))
    for path in written:
        print(path)


def _demo(args: argparse.Namespace) -> None:
    from wangge.events.demo import run_demo

    asyncio.run(run_demo(Path(args.data_dir), serve=not args.once))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``wangge-events`` command."""
    parser = argparse.ArgumentParser(prog="wangge-events", description=__doc__)
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)

    relay = commands.add_parser("relay", help="publish a service's event table to Kafka")
    relay.add_argument("--service", required=True, help="the service whose events to publish")
    relay.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), required=False)
    relay.add_argument("--schema", help="PostgreSQL schema of the event table (search_path)")
    relay.add_argument("--bootstrap-servers", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS"))
    relay.add_argument("--topic", help="default: wangge.<service>.events")
    relay.add_argument("--partitions", type=int, default=12, help="when creating the topic")
    relay.add_argument("--batch-size", type=int, default=1000)
    relay.add_argument("--catalogue", help="module[:attribute] that registers the event models")

    schemas = commands.add_parser("schemas", help="write JSON Schemas and the AsyncAPI document")
    schemas.add_argument("--out", default="docs/events")
    schemas.add_argument(
        "--catalogue",
        default="wangge.events.demo:catalogue",
        help="module[:attribute] that registers the event models",
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
    if args.command == "relay":
        if not args.database_url or not args.bootstrap_servers:
            parser.error(
                "relay needs --database-url and --bootstrap-servers "
                "(or DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS)"
            )
        asyncio.run(_relay(args))
    elif args.command == "schemas":
        _schemas(args)
    elif args.command == "demo":
        _demo(args)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
