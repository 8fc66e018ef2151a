"""Sealing personal data inside events: a data key per data subject, wrapped by one key.

Sensitive fields (names, phone numbers, identity numbers, health measurements) travel in events
as :class:`Sealed` blocks, encrypted with AES-GCM under a data key of their own subject (a
resident, a hotline caller). The data key is stored wrapped by the service's key-encryption key,
in that service's database only, never in an event. Erasure deletes the wrapped key
(crypto-shredding): every copy of the sealed block, in the event table, on Kafka, in an
analyst's replay, becomes unreadable at once.

The block and its crypto are in :mod:`wangge.events.sealed`, which imports no database, so that
domains may hold sealed fields; they are re-exported here for everything else.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import sealed as _sealed
from wangge.events.db import insert_many
from wangge.events.sealed import Seal, Sealed
from wangge.events.store.tables import UTCDateTime

__all__ = ["KeyRing", "Seal", "Sealed", "key_table"]


def key_table(metadata: sa.MetaData, name: str, subject: str) -> sa.Table:
    """The table of a service's wrapped data keys, one row per subject (``subject``: its id)."""
    return sa.Table(
        name,
        metadata,
        sa.Column(subject, sa.Uuid(as_uuid=True), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=True, comment="NULL once erased"),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("erased_at", UTCDateTime, nullable=True),
    )


class KeyRing:
    """The data keys of one kind of subject, wrapped by one key-encryption key."""

    def __init__(self, kek: bytes, table: sa.Table) -> None:
        self._kek = AESGCM(kek)
        self.table = table
        self._subject = table.primary_key.columns[0]

    @staticmethod
    def generate() -> bytes:
        """A new data key (stored with :meth:`keep` once the subject's events are appended)."""
        return _sealed.generate_key()

    async def keep(self, conn: AsyncConnection, subject_id: uuid.UUID, key: bytes) -> None:
        """Store a new subject's data key, wrapped."""
        await self.keep_many(conn, [(subject_id, key)])

    async def keep_many(
        self, conn: AsyncConnection, keys: Sequence[tuple[uuid.UUID, bytes]]
    ) -> None:
        """Store many new subjects' data keys in one go (imports)."""
        now = datetime.now(UTC)
        rows = []
        for subject_id, key in keys:
            nonce = os.urandom(12)
            wrapped = nonce + self._kek.encrypt(nonce, key, subject_id.bytes)
            rows.append({self._subject.name: subject_id, "wrapped": wrapped, "created_at": now})
        await insert_many(conn, self.table, rows)

    async def key(self, conn: AsyncConnection, subject_id: uuid.UUID) -> bytes | None:
        """The subject's data key; None once it was erased (or never kept)."""
        wrapped = await conn.scalar(
            sa.select(self.table.c.wrapped).where(self._subject == subject_id)
        )
        if wrapped is None:
            return None
        return self._kek.decrypt(wrapped[:12], wrapped[12:], subject_id.bytes)

    async def keys(
        self, conn: AsyncConnection, subject_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, bytes]:
        """Data keys of many subjects (the erased ones are missing)."""
        if not subject_ids:
            return {}
        rows = await conn.execute(
            sa.select(self._subject, self.table.c.wrapped).where(
                self._subject.in_(subject_ids), self.table.c.wrapped.is_not(None)
            )
        )
        return {
            subject: self._kek.decrypt(wrapped[:12], wrapped[12:], subject.bytes)
            for subject, wrapped in rows
        }

    async def destroy(self, conn: AsyncConnection, subject_id: uuid.UUID) -> None:
        """Erase the subject's data key: what was sealed with it is unreadable from now on."""
        await conn.execute(
            sa.update(self.table)
            .where(self._subject == subject_id)
            .values(wrapped=None, erased_at=datetime.now(UTC))
        )

    @staticmethod
    def sealer(key: bytes, subject_id: uuid.UUID) -> Seal:
        """Seals blocks of one subject's data (see :func:`wangge.events.sealed.sealer`)."""
        return _sealed.sealer(key, subject_id)

    @staticmethod
    def unseal(key: bytes, sealed: Sealed) -> dict[str, Any]:
        """The block inside a sealed value (see :func:`wangge.events.sealed.unseal`)."""
        return _sealed.unseal(key, sealed)
