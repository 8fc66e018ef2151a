"""Who reads which view, and the typed core every route reaches the service by.

Staff read by place: a grid worker the residents, households and figures of their grids, a
community's staff their community's, the subdistrict's admins everything in their subdistrict;
what nothing ties to a place, only those whose places cover the whole deployment. A department
reads only its own feed (``department:<name>``), minimised. Analysts read figures, never a person.
Something outside the caller's places is answered 404, as something that does not exist: the
answer tells them nothing about who lives where.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.projection import active_tables
from wangge.governance import roster
from wangge.governance.errors import DomainError, NotFound
from wangge.service.auth import Principal, covers, require
from wangge.service.deps import core_of
from wangge.views.bootstrap import ViewsCore
from wangge.views.projections.roster import Roster, subdistrict_codes

Core = Annotated[ViewsCore, Depends(core_of(ViewsCore))]
"""The views service's core: its store and views."""

STAFF = ("grid_worker", "community_staff", "subdistrict_admin")
Staff = Annotated[Principal, Depends(require(*STAFF))]
"""Reads a person's or a household's picture, within their places."""
FIGURES = (*STAFF, "analyst")
FigureReader = Annotated[Principal, Depends(require(*FIGURES))]
"""Reads figures (no person in them), within their places; analysts everywhere."""


def sees_everywhere(principal: Principal) -> bool:
    """Whether the caller's reads have no place scope (analysts: figures only)."""
    return principal.has_any(("analyst",))


def in_scope(
    principal: Principal, codes: Iterable[str | None], deployment: Collection[str] = ()
) -> bool:
    """Whether one of these place codes (a grid's, a community's) lies in the caller's places.

    Something nothing ties to a place (a ticket in triage, a person never placed, a dwelling
    the roster does not know yet) is the whole deployment's: read by a caller whose places
    cover every one of its subdistricts (``deployment``, the roster's; none known: nobody),
    never by any subdistrict admin as such: one of another subdistrict learns nothing of it.
    """
    known = [code for code in codes if code is not None]
    if sees_everywhere(principal):
        return True
    if not known:
        return bool(deployment) and all(principal.covers(code) for code in deployment)
    return any(principal.covers(code) for code in known)


async def require_scope(
    conn: AsyncConnection,
    tree: roster.Tables,
    principal: Principal,
    codes: Iterable[str | None],
    what: str,
    field: str,
) -> None:
    """404 (as for something that does not exist) unless the thing lies in the caller's places
    (:func:`in_scope`); ``tree``, the roster's tables, names the deployment's subdistricts for a
    thing with no place."""
    known = [code for code in codes if code is not None]
    deployment = [] if known else await subdistrict_codes(conn, tree)
    if not in_scope(principal, known, deployment):
        raise NotFound(f"no {what}", field=field)


class ViewNotReady(DomainError):
    """A view has not started yet (the service has just been deployed): it will."""

    status = 503
    slug = "view-not-ready"
    title = "The view is being built"


async def view_tables(conn: AsyncConnection, core: ViewsCore, name: str) -> roster.Tables:
    """A view's active tables: a 503 with ``Retry-After`` while its runner has not started."""
    try:
        return await active_tables(conn, core.projection(name))
    except LookupError:
        raise ViewNotReady(f"the view {name} has not started yet; retry", retry_after=5) from None


def require_figures_scope(principal: Principal, code: str, what: str) -> None:
    """404 unless the caller may read an area's figures: an area in their places, or one that
    holds them (a grid worker compares their grid with its community and the subdistrict; a
    roll-up names no person). Analysts and the subdistrict's admins read every area."""
    if in_scope(principal, [code]) or any(covers(code, own) for own in principal.places):
        return
    raise NotFound(f"no {what}", field="code")


async def roster_tables(conn: AsyncConnection, core: ViewsCore) -> roster.Tables:
    """The roster's active tables."""
    return await view_tables(conn, core, Roster.name)
