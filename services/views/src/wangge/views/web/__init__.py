"""The web dashboard (综治中心 / 一网统管 screen): server-rendered pages of the views API's
answers, ECharts drawing what the server put in the page, every asset served by the service
itself (``static/vendor`` is filled by ``make sync`` from the npm lock file)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from wangge.views.web import pages, session

STATIC = Path(__file__).parent / "static"


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, session.SignInNeeded)
    return RedirectResponse(f"/signin?back_to={quote(exc.back_to)}", status_code=303)


def mount(app: FastAPI) -> None:
    """Serve the pages, their sign-in and their assets from ``app``."""
    app.include_router(session.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(session.SignInNeeded, _sign_in_first)
