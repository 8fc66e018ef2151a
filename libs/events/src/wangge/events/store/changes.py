"""Whether anything was committed to a SQLite database file, without querying its tables.

An idle projection runner in embedded mode asks its event tables for new events every few
milliseconds; a service reading four other services' files runs a dozen such readers, and the
queries alone kept the idle services busy. SQLite counts commits itself: ``PRAGMA data_version``
on a connection changes whenever *another* connection (of this process or any other) has
committed to the file since that connection last asked, and asking costs microseconds. One
read-only connection per file, shared by every reader of it in the process, does the asking;
it never writes, so every commit it sees is someone else's.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine


class ChangeWatch:
    """The commit counter of one SQLite database file, seen from a connection of its own
    (closed when the last reader drops the watch and it is collected)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.inode = os.stat(path).st_ino
        """The file it watches: one made anew at the same path needs a watch of its own."""
        # read-only and in autocommit: each question is a read transaction of its own, which
        # never holds a lock a writer or a checkpoint would wait for. It is asked on the event
        # loop, so it never waits for a lock either (the default would block the loop for up
        # to 5 s): a busy file answers None, and the reader queries as it did without a watch.
        self._conn = sqlite3.connect(
            f"{Path(path).as_uri()}?mode=ro",
            uri=True,
            timeout=0,
            isolation_level=None,
            check_same_thread=False,
        )
        # event loops of other threads (a test's portal) may share the watch
        self._lock = threading.Lock()

    def version(self) -> int | None:
        """A value that differs from the last one whenever a commit happened in between (None
        when the file cannot be asked: the caller reads the tables instead)."""
        try:
            with self._lock:
                row = self._conn.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            return None
        return int(row[0])


_watches: weakref.WeakValueDictionary[str, ChangeWatch] = weakref.WeakValueDictionary()
_watches_lock = threading.Lock()


def change_watch(engine: AsyncEngine) -> ChangeWatch | None:
    """The watch of the engine's SQLite file, shared by every reader of that file in the
    process while any of them holds it; None where there is no file to watch (PostgreSQL, an
    in-memory or URI-configured SQLite database) or it cannot be opened: those readers query.
    """
    url = engine.url
    database = url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or "uri" in url.query or "mode" in url.query:
        return None
    path = os.path.realpath(database)
    with _watches_lock:
        watch = _watches.get(path)
        try:
            if watch is None or watch.inode != os.stat(path).st_ino:
                watch = ChangeWatch(path)
        except (OSError, sqlite3.Error):
            return None
        _watches[path] = watch
        return watch
