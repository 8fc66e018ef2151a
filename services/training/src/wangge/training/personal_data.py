"""Data keys of the training service: one per data subject whose words or name an event keeps.

A grid worker's key seals what is written about them or by them (an attendance note, why they
left a programme, a secondment's goals, mentor and evaluation, their suggestions at a forum and
the answers to them). A session's key seals its instructors' names and why it was moved or
cancelled; a forum's key seals its guests' names, its summary and its guests' suggestions (the
guests have no id of their own: erasing one erases the forum's outside people together). The
clear part of each event keeps only a redacted copy (:func:`wangge.governance.redaction.redact`)
or a masked name (``李**``).

Keys are made before the command that first seals with them, in a transaction of their own: two
commands sealing for the same new subject at once then share one key, where keeping the key in
each command's own transaction would make the second fail, or keep a key that opens nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.db import read_only
from wangge.events.sealing import KeyRing, Seal, key_table
from wangge.governance.errors import DomainError

metadata = sa.MetaData()
subject_keys = key_table(metadata, "training_keys", "subject_id")
"""One row per worker, session or forum that has had anything sealed (ids never collide)."""


class PersonalDataErased(DomainError):
    """The subject's personal data were erased: nothing more is sealed with their key."""

    status = 410
    slug = "personal-data-erased"
    title = "The personal data were erased"


class ActorPseudonyms:
    """Keyed hashes of what names an xAPI actor from outside the roster (an e-mail address, an
    OpenID, an account elsewhere): the actor's pseudonymous id, the subject of the key that
    seals their statements, and the digest that tells a statement sent again from another one.

    Keyed (HMAC with a key derived from the key-encryption key), so that nobody holding the
    events can hash a list of e-mail addresses and find who learnt what.
    """

    def __init__(self, kek: bytes) -> None:
        self._key = HKDF(hashes.SHA256(), 32, salt=None, info=b"xapi actor").derive(kek)

    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def subject(self, identifier: str) -> uuid.UUID:
        """The pseudonymous id of the actor an identifier (``mbox:mailto:…``) names."""
        # shaped as a random UUID (version 4): it is one, to anyone without the key
        return uuid.UUID(bytes=self._mac(identifier.encode())[:16], version=4)

    def digest(self, content: bytes) -> str:
        """A statement's content, keyed-hashed (the content names its actor)."""
        return self._mac(b"statement\x1f" + content).hex()


def keyring(kek: bytes) -> KeyRing:
    """The key ring of the training service's data subjects."""
    return KeyRing(kek, subject_keys)


async def sealer(engine: AsyncEngine, ring: KeyRing, subject_id: uuid.UUID, *, field: str) -> Seal:
    """Seals blocks with the subject's key, made now if they have none (410 naming ``field``
    once their data were erased)."""
    for _ in range(2):
        async with read_only(engine) as conn:
            row = (
                await conn.execute(
                    sa.select(subject_keys.c.wrapped).where(subject_keys.c.subject_id == subject_id)
                )
            ).first()
            if row is not None and row.wrapped is None:
                raise PersonalDataErased(
                    f"the personal data of {subject_id} were erased", field=field
                )
            key = await ring.key(conn, subject_id) if row is not None else None
        if key is not None:
            return KeyRing.sealer(key, subject_id)
        try:
            async with engine.begin() as conn:
                await ring.keep(conn, subject_id, KeyRing.generate())
        except sa.exc.IntegrityError:
            pass  # another request kept one first: read theirs
    raise RuntimeError(f"no data key for {subject_id}")  # pragma: no cover


async def seal_for(
    engine: AsyncEngine, ring: KeyRing, subject_id: uuid.UUID, *texts: object, field: str
) -> Seal | None:
    """The subject's seal when there is text to seal (None when every text is empty, so that a
    command without free text neither makes a key nor is refused after an erasure)."""
    if not any(texts):
        return None
    return await sealer(engine, ring, subject_id, field=field)
