"""Column types every service's read models share (SQL-aware, so apart from ``times``, which
the domain packages import and which must stay free of any framework)."""

from __future__ import annotations

from wangge.events.store.tables import UTCDateTime

TIME = UTCDateTime()
"""The column type of every time in a read model: an aware time of any offset is stored as its
instant in UTC (SQLite would keep a ``+08:00`` deadline's wall clock and drop the offset, 8 hours
late once read back as UTC), a naive one is refused, and reads come back aware in UTC."""
