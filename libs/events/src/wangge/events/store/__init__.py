"""The event store, on PostgreSQL or SQLite behind one interface."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.catalogue import Catalogue, default_catalogue
from wangge.events.store.base import (
    NO_STREAM,
    AppendResult,
    EventStore,
    Outgoing,
    StoredEvent,
    StreamAppend,
)
from wangge.events.store.postgres import PostgresEventStore
from wangge.events.store.sqlite import SqliteEventStore
from wangge.events.store.tables import StoreTables, build_tables

__all__ = [
    "NO_STREAM",
    "AppendResult",
    "EventStore",
    "Outgoing",
    "PostgresEventStore",
    "SqliteEventStore",
    "StoreTables",
    "StoredEvent",
    "StreamAppend",
    "build_tables",
    "open_store",
]


def open_store(
    engine: AsyncEngine, *, service: str, catalogue: Catalogue = default_catalogue
) -> EventStore:
    """The store for the engine's backend."""
    if engine.dialect.name == "postgresql":
        return PostgresEventStore(engine, service=service, catalogue=catalogue)
    if engine.dialect.name == "sqlite":
        return SqliteEventStore(engine, service=service, catalogue=catalogue)
    raise ValueError(f"no event store for {engine.dialect.name}")
