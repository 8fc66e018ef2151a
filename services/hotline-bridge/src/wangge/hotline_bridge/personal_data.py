"""The callers' data keys: one per ticket, so erasing a caller never touches anyone else."""

from __future__ import annotations

import sqlalchemy as sa

from wangge.events.sealing import KeyRing, key_table

metadata = sa.MetaData()
caller_keys = key_table(metadata, "caller_keys", "ticket_id")


def keyring(kek: bytes) -> KeyRing:
    """The key ring of ticket callers."""
    return KeyRing(kek, caller_keys)
