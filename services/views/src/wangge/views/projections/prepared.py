"""Statements built once per generation of the tables they read, run with their values bound.

Building a SQLAlchemy statement, and the cache key that finds its compiled form, costs about
as much of the views' CPU as PostgreSQL spends answering it: a resident's picture asks about a
dozen questions, and built a dozen statements on every read. A generation's tables never
change, so a statement written with bound parameters (``sa.bindparam``; ``expanding=True`` for
a list) is kept per purpose and table, and its cache key is computed once.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar, cast

import sqlalchemy as sa

S = TypeVar("S")

_built: weakref.WeakKeyDictionary[sa.Table, dict[str, Any]] = weakref.WeakKeyDictionary()


def prepared(purpose: str, table: sa.Table, make: Callable[[], S]) -> S:
    """The statement ``make`` builds for ``purpose`` over ``table``'s generation (and the
    tables of the same generation it names), built on the first call only. ``make`` must
    take every value from bound parameters, never from the call's arguments."""
    known = _built.get(table)
    if known is None:
        known = _built.setdefault(table, {})
    found = known.get(purpose)
    if found is None:
        found = known[purpose] = make()
    return cast(S, found)
