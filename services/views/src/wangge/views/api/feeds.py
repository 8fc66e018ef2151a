"""``/feeds/{department}``: a department's feed (部门数据推送), the minimised facts the catalogue
entitles it to, paged by cursor, with ``ETag`` / ``If-None-Match``. Only the department itself
(``department:<name>``) and the subdistrict's admins read it, and every read is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response, status

from wangge.events.db import read_only
from wangge.governance.errors import Forbidden, NotFound
from wangge.service.auth import Principal, require
from wangge.service.commands import Command
from wangge.service.responses import problems
from wangge.views.api.access import Core, ViewNotReady, roster_tables
from wangge.views.api.params import single_valued
from wangge.views.domain.feeds import BadCursor, CursorExpired
from wangge.views.handlers.audit import record_read
from wangge.views.projections.feeds import MAX_LIMIT, Feeds
from wangge.views.projections.feeds_queries import FeedPage, Paged, feed_page

router = APIRouter(prefix="/feeds", tags=["feeds"], dependencies=[single_valued])

FEED_READERS = ("department:*", "subdistrict_admin")
FeedReader = Annotated[Principal, Depends(require(*FEED_READERS))]
"""A department (its own feed only) or the subdistrict's admins (every feed)."""


def feeds_of(core: Core) -> Feeds:
    """The feeds' projection, with the department catalogue it was built with."""
    feeds = core.projection(Feeds.name)
    assert isinstance(feeds, Feeds)
    return feeds


@router.get(
    "/{department}",
    response_model=FeedPage,
    responses={
        304: {"description": "If-None-Match matched: the page is what the client holds"},
        **problems(BadCursor, CursorExpired),
    },
)
async def read_feed(
    department: Annotated[str, Path(pattern=r"^[a-z][a-z_]{1,39}$", description="police...")],
    principal: FeedReader,
    core: Core,
    command: Command,
    response: Response,
    after: Annotated[
        str | None,
        Query(max_length=64, description="the cursor of the last entry read (next of a page)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    if_none_match: Annotated[
        str | None,
        Header(alias="If-None-Match", max_length=200, description="the ETag of the page held"),
    ] = None,
) -> FeedPage | Response:
    """The facts of a department's feed after ``after``, oldest first: a new client starts
    without ``after`` and sends each page's ``next`` back. A cursor from before the feeds were
    rebuilt is a 410 (read from the start again); one the service never made, a 422. The read is
    recorded (who, which feed, from and to which cursor, how many entries) before it is sent."""
    paged = await feed_for(core, principal, department, after, limit)
    matched = if_none_match is not None and bool({paged.etag, "*"} & _tags(if_none_match))
    await record_read(
        command.commands, department=department, cursor_from=after, cursor_to=paged.page.next,
        entries=0 if matched else len(paged.page.entries), etag_matched=matched,
    )  # fmt: skip
    if matched:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": paged.etag})
    response.headers["ETag"] = paged.etag
    return paged.page


async def feed_for(
    core: Core, principal: Principal, department: str, after: str | None, limit: int
) -> Paged:
    """A page of ``department``'s feed as ``principal`` may read it: 404 for no such
    department, 403 for another department's (the caller records the read)."""
    feeds = feeds_of(core)
    if department not in feeds.departments.departments:
        raise NotFound(f"no department {department}", field="path/department")
    if not principal.has_any(("subdistrict_admin", f"department:{department}")):
        raise Forbidden("a department reads only its own feed", field="path/department")
    async with read_only(core.store.engine) as conn:
        places = await roster_tables(conn, core)
        try:
            return await feed_page(
                conn, feeds, places, department=department, after=after, limit=limit
            )
        except LookupError:
            raise ViewNotReady("the feeds have not started yet; retry", retry_after=5) from None


def _tags(header: str) -> set[str]:
    """The entity tags an ``If-None-Match`` names (weak ones compare by their opaque part)."""
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}
