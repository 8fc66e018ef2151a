"""The web dashboard's pages and the API share one path space: a page at an API route's path
would never be reached (the API's routes come first), and the page's users would get JSON."""

from __future__ import annotations

from fastapi.routing import APIRoute

from wangge.service.access import routes
from wangge.views.app import ROUTERS
from wangge.views.web import pages, session


def _shape(path: str) -> str:
    """A path with its parameters' names left out: ``/a/{x}`` and ``/a/{y}`` are one path."""
    return "/".join("{}" if part.startswith("{") else part for part in path.split("/"))


def test_no_page_shares_a_path_with_an_api_route() -> None:
    api = {(_shape(r.path), m) for r in routes(ROUTERS) for m in r.methods or ()}
    web = [
        (_shape(r.path), m)
        for router in (pages.router, session.router)
        for r in router.routes
        if isinstance(r, APIRoute)
        for m in r.methods or ()
    ]
    assert web
    assert [w for w in web if w in api] == []
