"""Keyed hashes of identifiers: the same id gives the same pseudonym under the same export key,
so joins work within an export and across exports made with one key, and without the key
nothing maps a pseudonym back (a UUID's or a phone number's few candidates cannot be tried)."""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from pathlib import Path

KEY_BYTES = 32
KEY_ENV = "WANGGE_EXPORT_KEY"
"""The export key as hex, when no key file is named."""


class ExportKeyError(ValueError):
    """An export key that cannot be used; the message says why."""


def pseudonymiser(key: bytes) -> Callable[[str], str]:
    """A function from an identifier to its pseudonym (32 hex digits of HMAC-SHA-256).

    Not memoised: the replay hashes each distinct value of a chunk's column once, and a
    memo of the ids seen before (a person's, in every event of theirs) missed more than it hit
    on a subdistrict's year and cost more than it saved."""
    if len(key) < 16:
        raise ExportKeyError("an export key has at least 16 bytes")

    keyed = hmac.new(key, digestmod=hashlib.sha256)  # copied per value: the key set up once

    def pseudonym(value: str) -> str:
        mac = keyed.copy()
        mac.update(value.encode())
        return mac.hexdigest()[:32]

    return pseudonym


def key_id(key: bytes) -> str:
    """Names a key without revealing it (recorded with an export: which key made it)."""
    return hashlib.sha256(b"wangge-export-key:" + key).hexdigest()[:16]


def load_key(path: Path | None) -> bytes:
    """The export key from a file (raw bytes or hex) or from ``WANGGE_EXPORT_KEY`` (hex)."""
    if path is not None:
        raw = path.read_bytes()
        text = raw.strip()
        try:
            return bytes.fromhex(text.decode())
        except (UnicodeDecodeError, ValueError):
            return raw
    value = os.environ.get(KEY_ENV)
    if not value:
        raise ExportKeyError(f"no export key: name a key file (--key-file) or set {KEY_ENV}")
    try:
        return bytes.fromhex(value.strip())
    except ValueError:
        raise ExportKeyError(f"{KEY_ENV} is not hex") from None


def new_key() -> str:
    """A new export key, as hex (``wangge replay key``)."""
    return os.urandom(KEY_BYTES).hex()
