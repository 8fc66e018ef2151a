"""The analyst replay's per-message work, compiled (see ``src/lib.rs``)."""

from collections.abc import Callable, Sequence
from typing import Any

def hmac_hex32(key: bytes, offsets: bytes, data: bytes, count: int) -> tuple[bytes, bytes]:
    """The first 32 hex digits of HMAC-SHA-256 of each value of an Arrow string array given by
    its 32-bit offsets and data: the result's offsets and data."""

def place(
    items: Sequence[Any],
    slots: dict[tuple[bytes, bytes], list[Any]],
    versions: dict[bytes, int],
    unsorted: list[Any],
    new_group: Callable[[tuple[bytes, bytes]], list[Any]],
    version_of: Callable[[bytes], int],
) -> None:
    """Each message placed in its group, or appended to ``unsorted``."""
