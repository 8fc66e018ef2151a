"""Keyed hashes of identifiers: the same id gives the same pseudonym under the same export key,
so joins work within an export and across exports made with one key, and without the key
nothing maps a pseudonym back (a UUID's or a phone number's few candidates cannot be tried)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from wangge.replay.native import compiled

KEY_BYTES = 32
KEY_ENV = "WANGGE_EXPORT_KEY"
"""The export key as hex, when no key file is named."""


class ExportKeyError(ValueError):
    """An export key that cannot be used; the message says why."""


MEMO = 1 << 16
"""Pseudonyms remembered at most (about 13 MB): a person's id recurs in many of the events of
one partition, which is read a chunk at a time; the memo is emptied when full."""


class Pseudonymiser:
    """A function from an identifier to its pseudonym (32 hex digits of HMAC-SHA-256), and from
    a column of distinct identifiers to theirs (:meth:`column`).

    One at a time, it remembers the last :data:`MEMO` values: on a subdistrict's year this
    halves the hashes, as a stream's events sit together in one partition (a memo of the whole
    run missed less but held half a million ids). A column is hashed in compiled code where it
    is built (``wangge-replay-native``: a fast path, see ``wangge.events.tuning``)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ExportKeyError("an export key has at least 16 bytes")
        self._key = key
        self._mac = hmac_sha256(key)
        self._memo: dict[str, str] = {}

    def __call__(self, value: str) -> str:
        found = self._memo.get(value)
        if found is None:
            if len(self._memo) >= MEMO:
                self._memo.clear()
            found = self._memo[value] = self._mac(value.encode())[:32]
        return found

    def column(self, values: Any) -> Any:
        """The pseudonyms of an Arrow text column without nulls, as an Arrow text column."""
        native = compiled()
        if native is None or len(values) == 0:
            return pa.array([self(str(v)) for v in values.to_pylist()], pa.string())
        _, offsets, data = values.buffers()
        start = values.offset * 4
        ends, made = native.hmac_hex32(
            self._key,
            offsets.to_pybytes()[start : start + (len(values) + 1) * 4],
            b"" if data is None else data.to_pybytes(),
            len(values),
        )
        return pa.Array.from_buffers(
            pa.string(), len(values), [None, pa.py_buffer(ends), pa.py_buffer(made)]
        )


def pseudonymiser(key: bytes) -> Pseudonymiser:
    """The pseudonyms of identifiers under ``key`` (see :class:`Pseudonymiser`)."""
    return Pseudonymiser(key)


def hmac_sha256(key: bytes) -> Callable[[bytes], str]:
    """HMAC-SHA-256 (RFC 2104) under ``key``, as hex, with the key's padded blocks hashed once:
    ``hmac.new(...).copy()`` per value made the replay's hashing half again as slow, and the
    replay hashes a million identifiers of a subdistrict's year. RFC 4231's vectors test it."""
    block = hashlib.sha256().block_size
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def mac(message: bytes) -> str:
        first = inner.copy()
        first.update(message)
        second = outer.copy()
        second.update(first.digest())
        return second.hexdigest()

    return mac


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
