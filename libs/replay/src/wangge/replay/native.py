"""The replay's compiled part (``wangge-replay-native``, Rust): placing Kafka messages by their
headers and hashing a column of identifiers. The same work stays in Python as its slow twin, for
a machine where it is not built and for ``WANGGE_FAST_PATHS=no-native``; the tests hold the two
to the same output (``docs/adr/0011-compiled-replay.md``)."""

from __future__ import annotations

import importlib
from types import ModuleType

from wangge.events import tuning


def _built() -> ModuleType | None:
    try:
        return importlib.import_module("wangge_replay_native")
    except ImportError:
        return None


BUILT = _built()


def compiled() -> ModuleType | None:
    """The compiled module, when it is built here and its fast path is on."""
    return BUILT if tuning.FAST_PATHS.native else None
