"""The event store's tables, per backend.

``events`` is both the log and the outbox. On PostgreSQL it carries ``transaction_id`` (xid8), so
readers can follow commit order rather than insert order; see docs/adr/0001-commit-ordering.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import UserDefinedType


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps them naive)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused; use UTC-aware ones")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class XID8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id type."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "xid8"


JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


@dataclass(frozen=True)
class StoreTables:
    """The tables of one event store."""

    metadata: sa.MetaData
    events: sa.Table
    idempotency_keys: sa.Table
    checkpoints: sa.Table


def build_tables(dialect: str, metadata: sa.MetaData | None = None) -> StoreTables:
    """The store's tables for ``dialect`` (``postgresql`` or ``sqlite``), in ``metadata``."""
    metadata = metadata if metadata is not None else sa.MetaData()
    postgres = dialect == "postgresql"
    position_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    columns: list[Any] = [
        sa.Column("position", position_type, sa.Identity(), primary_key=True)
        if postgres
        else sa.Column("position", position_type, primary_key=True),
    ]
    if postgres:
        columns.append(
            sa.Column(
                "transaction_id",
                XID8(),
                nullable=False,
                server_default=sa.text("pg_current_xact_id()"),
            )
        )
    columns += [
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("schema_version", sa.SmallInteger, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("metadata", JSONType, nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="events_stream_version_key"),
    ]
    if postgres:
        columns.append(sa.Index("events_commit_order_idx", "transaction_id", "position"))
    events = sa.Table("events", metadata, *columns, sqlite_autoincrement=True)
    idempotency_keys = sa.Table(
        "idempotency_keys",
        metadata,
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", JSONType, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
    )
    checkpoints = sa.Table(
        "outbox_checkpoints",
        metadata,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("transaction_id", sa.BigInteger, nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    return StoreTables(metadata, events, idempotency_keys, checkpoints)
