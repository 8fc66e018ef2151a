"""The callers' data keys, one per ticket, so erasing a caller never touches anyone else; and
the keyed hash their phone numbers are found by for an erasure by phone.

A phone number is looked up by an HMAC of its E.164 form under a key derived from the
key-encryption key, so the service never keeps a caller's number in clear, and a stolen index
reveals nothing without the key.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wangge.events.sealing import KeyRing, Sealed, key_table

metadata = sa.MetaData()
caller_keys = key_table(metadata, "caller_keys", "ticket_id")


class CallerKeys(KeyRing):
    """Data keys of tickets' callers, and the keyed hash of their phone numbers."""

    def __init__(self, kek: bytes) -> None:
        super().__init__(kek, caller_keys)
        self._phone_key = HKDF(hashes.SHA256(), 32, salt=None, info=b"caller phone hash").derive(
            kek
        )

    def phone_hash(self, phone: str) -> str:
        """The keyed hash of a phone number in E.164 form (``+8613812345678``)."""
        return hmac.new(self._phone_key, phone.encode(), hashlib.sha256).hexdigest()


def keyring(kek: bytes) -> CallerKeys:
    """The key ring of ticket callers."""
    return CallerKeys(kek)


def opened(key: bytes | None, sealed: Sealed | Mapping[str, Any] | None, name: str) -> str | None:
    """The text ``name`` in a block sealed with a ticket's data key ``key``; None when there is
    no key (the caller was erased), no block (an older event) or no such text in it."""
    if key is None or sealed is None:
        return None
    block = KeyRing.unseal(key, sealed if isinstance(sealed, Sealed) else Sealed(**sealed))
    text = block.get(name)
    return text if isinstance(text, str) else None


def subject_of(sealed: Sealed | Mapping[str, Any]) -> uuid.UUID:
    """The ticket a sealed block belongs to."""
    return uuid.UUID(sealed.key if isinstance(sealed, Sealed) else sealed["key"])
