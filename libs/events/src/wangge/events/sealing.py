"""Sealing personal data inside events: a data key per data subject, wrapped by one key.

Sensitive fields (names, phone numbers, identity numbers, health measurements) travel in events
as :class:`Sealed` blocks, encrypted with AES-GCM under a data key of their own subject (a
resident, a hotline caller). The data key is stored wrapped by the service's key-encryption key,
in that service's database only, never in an event. Erasure deletes the wrapped key
(crypto-shredding): every copy of the sealed block, in the event table, on Kafka, in an
analyst's replay, becomes unreadable at once.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pydantic_core
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import insert_many


class Sealed(BaseModel):
    """Personal data encrypted with one person's data key (AES-GCM); opaque to everyone else."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="the data key's id: the person's id")
    nonce: str = Field(description="base64")
    ciphertext: str = Field(description="base64, with the GCM tag")


Seal = Callable[[Mapping[str, Any]], Sealed]
"""Seals blocks of one subject's data (see :meth:`KeyRing.sealer`)."""


def key_table(metadata: sa.MetaData, name: str, subject: str) -> sa.Table:
    """The table of a service's wrapped data keys, one row per subject (``subject``: its id)."""
    return sa.Table(
        name,
        metadata,
        sa.Column(subject, sa.Uuid(as_uuid=True), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=True, comment="NULL once erased"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
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
        return AESGCM.generate_key(bit_length=256)

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
        """Seals blocks of one subject's data (the subject's id is bound in as associated data)."""
        cipher = AESGCM(key)

        def seal(block: Mapping[str, Any]) -> Sealed:
            nonce = os.urandom(12)
            plain = pydantic_core.to_json(block)  # compact UTF-8, as json.dumps but faster
            return Sealed(
                key=str(subject_id),
                nonce=base64.b64encode(nonce).decode(),
                ciphertext=base64.b64encode(
                    cipher.encrypt(nonce, plain, subject_id.bytes)
                ).decode(),
            )

        return seal

    @staticmethod
    def unseal(key: bytes, sealed: Sealed) -> dict[str, Any]:
        """The block inside a sealed value."""
        subject_id = uuid.UUID(sealed.key)
        plain = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), subject_id.bytes
        )
        block: dict[str, Any] = pydantic_core.from_json(plain)
        return block
