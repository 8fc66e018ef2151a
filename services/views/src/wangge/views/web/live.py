"""Live pages without a reload: a page's ETag is where the views' runners stand (their source
positions, saved with every batch they apply, and how many events each holds parked) and who is
looking at what, so a page polled with ``If-None-Match`` costs one small query and a 304 until
an event has been applied; then the page is rendered again and its live part swapped in
(``static/app.js``). The same positions the dashboards' kept answers are keyed on."""

from __future__ import annotations

import hashlib

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.service.auth import Principal
from wangge.views.api.dashboard import today
from wangge.views.projections.standing import standing


async def etag_of(conn: AsyncConnection, request: Request, viewer: Principal) -> str:
    """The page's entity tag: the views' applied state, the day (a page answers for today),
    the viewer and the page asked for."""
    rows = await standing(conn)
    digest = hashlib.blake2b(digest_size=12)
    parts = (
        repr(rows), today().isoformat(), viewer.subject, repr(sorted(viewer.roles)),
        repr(sorted(viewer.places)), request.url.path, request.url.query,
    )  # fmt: skip
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return f'W/"{digest.hexdigest()}"'


def unchanged(request: Request, etag: str) -> bool:
    """Whether the caller already holds the page as it would be rendered now."""
    held = request.headers.get("if-none-match", "")
    return etag in (tag.strip() for tag in held.split(","))
