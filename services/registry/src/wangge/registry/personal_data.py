"""The key ring: per-person data keys (AES-GCM), and the keyed hash that keeps identities unique.

Each person's personal data are sealed with a data key of their own. The key is stored wrapped
by the key-encryption key (from configuration or a KMS), in this service's database only, never
in an event. Erasure deletes the wrapped key (crypto-shredding): every copy of the sealed data,
in the event table, on Kafka, in an analyst's replay, becomes unreadable at once.

Uniqueness of identity numbers is checked on an HMAC of the number under a key derived from the
key-encryption key, so the register never looks a person up by plaintext and a stolen index
reveals nothing without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pydantic_core
import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import insert_many
from wangge.registry.domain.persons import DuplicatePerson, Seal, Sealed

metadata = sa.MetaData()
person_keys = sa.Table(
    "person_keys",
    metadata,
    sa.Column("person_id", sa.Uuid(as_uuid=True), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=True, comment="NULL once erased"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
)
disclosure_log = sa.Table(
    "disclosure_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reader", sa.String(200), nullable=False),
    sa.Column("person_id", sa.Uuid(as_uuid=True), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_disclosure_log_reader_at", "reader", "at"),
)
person_identities = sa.Table(
    "person_identities",
    metadata,
    sa.Column("identity_hash", sa.String(64), primary_key=True),
    sa.Column("person_id", sa.Uuid(as_uuid=True), nullable=False, unique=True),
)


class KeyRing:
    """Data keys of persons, wrapped by one key-encryption key."""

    def __init__(self, kek: bytes) -> None:
        self._kek = AESGCM(kek)
        self._hash_key = HKDF(hashes.SHA256(), 32, salt=None, info=b"identity hash").derive(kek)

    # -- keys ------------------------------------------------------------------------------------

    @staticmethod
    def generate() -> bytes:
        """A new data key (stored with :meth:`keep` once the person's events are appended)."""
        return AESGCM.generate_key(bit_length=256)

    async def keep(self, conn: AsyncConnection, person_id: uuid.UUID, key: bytes) -> None:
        """Store a new person's data key, wrapped."""
        await self.keep_many(conn, [(person_id, key)])

    async def keep_many(
        self, conn: AsyncConnection, keys: Sequence[tuple[uuid.UUID, bytes]]
    ) -> None:
        """Store many new persons' data keys in one statement (imports)."""
        if not keys:
            return
        now = datetime.now(UTC)
        rows = []
        for person_id, key in keys:
            nonce = os.urandom(12)
            wrapped = nonce + self._kek.encrypt(nonce, key, person_id.bytes)
            rows.append({"person_id": person_id, "wrapped": wrapped, "created_at": now})
        await insert_many(conn, person_keys, rows)

    async def key(self, conn: AsyncConnection, person_id: uuid.UUID) -> bytes | None:
        """The person's data key; None once it was erased."""
        wrapped = await conn.scalar(
            sa.select(person_keys.c.wrapped).where(person_keys.c.person_id == person_id)
        )
        if wrapped is None:
            return None
        return self._kek.decrypt(wrapped[:12], wrapped[12:], person_id.bytes)

    async def keys(
        self, conn: AsyncConnection, person_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, bytes]:
        """Data keys of many persons (the erased ones are missing)."""
        if not person_ids:
            return {}
        rows = await conn.execute(
            sa.select(person_keys.c.person_id, person_keys.c.wrapped).where(
                person_keys.c.person_id.in_(person_ids), person_keys.c.wrapped.is_not(None)
            )
        )
        return {
            row.person_id: self._kek.decrypt(
                row.wrapped[:12], row.wrapped[12:], row.person_id.bytes
            )
            for row in rows
        }

    async def destroy(self, conn: AsyncConnection, person_id: uuid.UUID) -> None:
        """Erase the person's data key, and their entry in the identity index."""
        await conn.execute(
            sa.update(person_keys)
            .where(person_keys.c.person_id == person_id)
            .values(wrapped=None, erased_at=datetime.now(UTC))
        )
        await conn.execute(
            sa.delete(person_identities).where(person_identities.c.person_id == person_id)
        )

    # -- sealing ---------------------------------------------------------------------------------

    @staticmethod
    def sealer(key: bytes, person_id: uuid.UUID) -> Seal:
        """Seals blocks of one person's data (the person id is bound in as associated data)."""
        cipher = AESGCM(key)

        def seal(block: Mapping[str, Any]) -> Sealed:
            nonce = os.urandom(12)
            plain = pydantic_core.to_json(block)  # compact UTF-8, as json.dumps but faster
            return Sealed(
                key=str(person_id),
                nonce=base64.b64encode(nonce).decode(),
                ciphertext=base64.b64encode(cipher.encrypt(nonce, plain, person_id.bytes)).decode(),
            )

        return seal

    @staticmethod
    def unseal(key: bytes, sealed: Sealed) -> dict[str, Any]:
        """The block inside a sealed value."""
        person_id = uuid.UUID(sealed.key)
        plain = AESGCM(key).decrypt(
            base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), person_id.bytes
        )
        block: dict[str, Any] = pydantic_core.from_json(plain)
        return block

    # -- the identity index ----------------------------------------------------------------------

    def identity_hash(self, identity_number: str) -> str:
        """The keyed hash the uniqueness index holds instead of the number."""
        return hmac.new(self._hash_key, identity_number.encode(), hashlib.sha256).hexdigest()

    async def person_with(self, conn: AsyncConnection, identity_number: str) -> uuid.UUID | None:
        """The person holding an identity number, if any."""
        found: uuid.UUID | None = await conn.scalar(
            sa.select(person_identities.c.person_id).where(
                person_identities.c.identity_hash == self.identity_hash(identity_number)
            )
        )
        return found

    async def claim(
        self, conn: AsyncConnection, identity_number: str, person_id: uuid.UUID
    ) -> None:
        """Make ``person_id`` the holder of an identity number; 409 if someone else is."""
        digest = self.identity_hash(identity_number)
        holder = await conn.scalar(
            sa.select(person_identities.c.person_id).where(
                person_identities.c.identity_hash == digest
            )
        )
        if holder is not None and holder != person_id:
            raise DuplicatePerson(holder)
        if holder == person_id:
            return
        await conn.execute(
            sa.delete(person_identities).where(person_identities.c.person_id == person_id)
        )
        try:
            async with conn.begin_nested():
                await conn.execute(
                    sa.insert(person_identities).values(identity_hash=digest, person_id=person_id)
                )
        except sa.exc.IntegrityError:
            # a concurrent registration claimed it between the check and the insert
            holder = await conn.scalar(
                sa.select(person_identities.c.person_id).where(
                    person_identities.c.identity_hash == digest
                )
            )
            raise DuplicatePerson(holder or person_id) from None
