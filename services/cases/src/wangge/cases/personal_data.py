"""Data keys of the cases service: one per care plan (its resident's measurements and the plan's
free text), one per mediation party from outside the register (their name and phone), and one
per case (its free text), so erasing one person's data never touches anyone else's.

A case's text key lives in ``case_keys``, the ring that once held one key for all of a case's
outside parties: both seal what is written about the case's parties, under the case's id, and
erasing any party destroys it (the text may be about them), so a second ring would only ever be
destroyed together with this one.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent
from wangge.events.sealing import KeyRing, Seal, Sealed, key_table
from wangge.governance.errors import Conflict

metadata = sa.MetaData()
plan_keys = key_table(metadata, "care_plan_keys", "plan_id")
case_keys = key_table(metadata, "case_keys", "case_id")
party_keys = key_table(sa.MetaData(), "party_keys", "party_id")
"""On a metadata of its own: migration 0001 creates ``metadata``'s tables, 0003 this one."""


def plan_keyring(kek: bytes) -> KeyRing:
    """The key ring of care plans' health data and free text."""
    return KeyRing(kek, plan_keys)


def case_keyring(kek: bytes) -> KeyRing:
    """The key ring of cases' free text (and of outside parties who joined a case before each
    had a key of their own: erasing one of them erased them all)."""
    return KeyRing(kek, case_keys)


def party_keyring(kek: bytes) -> KeyRing:
    """The key ring of mediation parties from outside the register, one key per party."""
    return KeyRing(kek, party_keys)


@dataclass(frozen=True)
class KeyRings:
    """The service's key rings (made once, in the app factory or a reaction)."""

    plans: KeyRing
    cases: KeyRing
    parties: KeyRing


def keyrings(kek: bytes) -> KeyRings:
    """Every key ring of the service, wrapped by ``kek``."""
    return KeyRings(plan_keyring(kek), case_keyring(kek), party_keyring(kek))


class KeyMadeMeanwhile(Conflict):
    """Another command made the subject's first key while this one made its own."""

    slug = "key-made-meanwhile"
    title = "Another change came first: read it again and retry"


@dataclass(frozen=True)
class TextKey:
    """A subject's key for what a command writes about it: an existing one, a new one (kept
    with the command's events), or none, once it was erased."""

    ring: KeyRing
    subject_id: uuid.UUID
    key: bytes | None
    fresh: bool

    @property
    def seal(self) -> Seal | None:
        """Seals with the key (None once it was erased: only redacted copies are kept)."""
        return self.ring.sealer(self.key, self.subject_id) if self.key is not None else None

    async def keep(self, conn: AsyncConnection) -> None:
        """Store a new key, in the transaction that appends what it sealed (a 409 when another
        command stored one since this one looked: what it sealed could not be opened)."""
        if self.fresh and self.key is not None:
            try:
                await self.ring.keep(conn, self.subject_id, self.key)
            except IntegrityError:
                raise KeyMadeMeanwhile(
                    f"{self.subject_id} got its key from another change", field="If-Match"
                ) from None


def new_key(ring: KeyRing, subject_id: uuid.UUID) -> TextKey:
    """A new subject's key (a case or plan being started)."""
    return TextKey(ring, subject_id, ring.generate(), fresh=True)


async def text_key(conn: AsyncConnection, ring: KeyRing, subject_id: uuid.UUID) -> TextKey:
    """The subject's key; a new one when it never had one (a case or plan from before its text
    was sealed); none when it was erased: new text is then kept only as its redacted copy, so
    an erasure is not undone by the next note."""
    subject = ring.table.primary_key.columns[0]
    found = await conn.execute(sa.select(ring.table.c.wrapped).where(subject == subject_id))
    row = found.first()
    if row is None:
        return new_key(ring, subject_id)
    if row.wrapped is None:
        return TextKey(ring, subject_id, None, fresh=False)
    return TextKey(ring, subject_id, await ring.key(conn, subject_id), fresh=False)


async def shred(conn: AsyncConnection, ring: KeyRing, subject_ids: Collection[uuid.UUID]) -> None:
    """Destroy the subjects' keys; a subject that never had one gets an erased row, so no key
    is made for it later (idempotent: an erased key stays erased)."""
    if not subject_ids:
        return
    subject = ring.table.primary_key.columns[0]
    now = datetime.now(UTC)
    rows = [
        {subject.name: s, "wrapped": None, "created_at": now, "erased_at": now} for s in subject_ids
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    # a key another transaction makes meanwhile is waited for, then destroyed below
    await conn.execute(dialect.insert(ring.table).values(rows).on_conflict_do_nothing())
    # as KeyRing.destroy, for many at once, keeping when each key was first erased
    await conn.execute(
        sa.update(ring.table)
        .where(subject.in_(list(subject_ids)), ring.table.c.wrapped.is_not(None))
        .values(wrapped=None, erased_at=now)
    )


def opened(key: bytes | None, event: DomainEvent) -> DomainEvent:
    """``event`` with its free text in full when ``key`` opens its sealed block; as recorded
    (the redacted copies, or an old event's clear text) otherwise."""
    sealed: Any = getattr(event, "sealed_text", None)
    if key is None or not isinstance(sealed, Sealed):
        return event
    try:
        full = KeyRing.unseal(key, sealed)
    except (InvalidTag, ValueError):
        return event  # sealed with another key than this subject's: shown as recorded
    return event.model_copy(update={k: v for k, v in full.items() if k in type(event).model_fields})
