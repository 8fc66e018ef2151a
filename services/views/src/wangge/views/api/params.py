"""Query parameters said once: every view's parameters are single values (a day, a cursor, an
id), and FastAPI quietly keeps the last of ``?as_of=A&as_of=B``. A client (or a proxy that
checked the first) would get an answer to a question it did not ask, so a repeat is a 422
naming the parameter instead."""

from __future__ import annotations

from fastapi import Depends, Request

from wangge.governance.errors import DomainError


class RepeatedParameter(DomainError):
    """A query parameter given more than once."""

    slug = "repeated-parameter"
    title = "A query parameter is given more than once"


def _once(request: Request) -> None:
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen:
            raise RepeatedParameter(f"give {name} once", field=f"query/{name}")
        seen.add(name)


single_valued = Depends(_once)
"""A router's dependency: 422 for a query parameter given twice."""
