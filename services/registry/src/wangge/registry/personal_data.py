"""The key ring: per-person data keys (AES-GCM), and the keyed hash that keeps identities unique.

Each person's personal data are sealed with a data key of their own. The key is stored wrapped
by the key-encryption key (from configuration or a KMS), in this service's database only, never
in an event. Erasure deletes the wrapped key (crypto-shredding): every copy of the sealed data,
in the event table, on Kafka, in an analyst's replay, becomes unreadable at once.

Two more kinds of data subject have keys of their own: an organisation's contact person
(``contact_keys``, erased on request) and a door-to-door visit (``visit_keys``): a visit's note
and needs are about its household, so they are sealed under a key of the visit, which a
household member's erasure destroys with their own.

Uniqueness of identity numbers is checked on an HMAC of the number under a key derived from the
key-encryption key, so the register never looks a person up by plaintext and a stolen index
reveals nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import sealing
from wangge.events.sealing import key_table
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.registry.domain.persons import DuplicatePerson

metadata = sa.MetaData()
person_keys = key_table(metadata, "person_keys", "person_id")
disclosure_log = sa.Table(
    "disclosure_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reader", sa.String(200), nullable=False),
    sa.Column("person_id", sa.Uuid(as_uuid=True), nullable=False),
    sa.Column("at", TIME_COLUMN, nullable=False),
    sa.Index("ix_disclosure_log_reader_at", "reader", "at"),
)
person_identities = sa.Table(
    "person_identities",
    metadata,
    sa.Column("identity_hash", sa.String(64), primary_key=True),
    sa.Column("person_id", sa.Uuid(as_uuid=True), nullable=False, unique=True),
)

subjects = sa.MetaData()
"""The key tables of contact persons and visits: migration 0004 creates them (apart from
``metadata``, so that migration 0002 still creates only what it always did)."""
contact_keys = key_table(subjects, "contact_keys", "contact_id")
visit_keys = key_table(subjects, "visit_keys", "visit_id")


class KeyRing(sealing.KeyRing):
    """Data keys of persons (and, beside them, of contact persons and visits), and the keyed
    hash of identity numbers."""

    def __init__(self, kek: bytes) -> None:
        super().__init__(kek, person_keys)
        self.contacts = sealing.KeyRing(kek, contact_keys)
        """Data keys of organisations' contact persons."""
        self.visits = sealing.KeyRing(kek, visit_keys)
        """Data keys of visits (their notes and needs)."""
        self._hash_key = HKDF(hashes.SHA256(), 32, salt=None, info=b"identity hash").derive(kek)

    async def destroy(self, conn: AsyncConnection, person_id: uuid.UUID) -> None:
        """Erase the person's data key, and their entry in the identity index."""
        await super().destroy(conn, person_id)
        await conn.execute(
            sa.delete(person_identities).where(person_identities.c.person_id == person_id)
        )

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
