"""The web dashboard's pages (Chinese UI), rendered on the server from the views API's answers.

Every page reads through the same functions, with the same scope checks, as the API route that
answers the same question (a dashboard, an area's grids, a grid's households, a resident's
picture): a page can show nothing its viewer could not read from the API, and no number is
computed anew for it. A page outside the viewer's places is the API's 404; a view still being
built, its 503 with ``Retry-After``; the database out of reach, a page saying so, a 503 with
``Retry-After`` too (never the API's problem JSON in the browser).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import Metadata
from wangge.events.faults import is_outage
from wangge.events.telemetry import current_traceparent
from wangge.governance.errors import DomainError, Forbidden, NotFound
from wangge.governance.special_groups import KNOWN_TAGS
from wangge.service.app import ServiceState
from wangge.service.auth import Principal
from wangge.service.deps import ReadConnection
from wangge.service.problems import OUTAGE_RETRY_AFTER, note_outage
from wangge.views.api.access import (
    FIGURES,
    STAFF,
    Core,
    ViewNotReady,
    require_figures_scope,
    roster_tables,
    view_tables,
)
from wangge.views.api.areas import grids_of, visible
from wangge.views.api.dashboard import rendered, today
from wangge.views.api.feeds import feed_for, feeds_of
from wangge.views.api.grids import households_page, open_cases_of
from wangge.views.api.matters import matter_read
from wangge.views.api.residents import resident_picture
from wangge.views.api.triage import triage_queue
from wangge.views.bootstrap import ViewsCore
from wangge.views.handlers.audit import record_read
from wangge.views.projections.matters import Matters, matter_of_case, matter_of_ticket
from wangge.views.projections.roster import grids_with_workers, place_by_code, subdistrict_codes
from wangge.views.web import charts
from wangge.views.web.live import etag_of, unchanged
from wangge.views.web.session import Viewer, dev_sign_in, viewer_of

HERE = Path(__file__).parent
ROLE_NAMES = {
    "subdistrict_admin": "街道管理员", "community_staff": "社区工作人员", "grid_worker": "网格员",
    "analyst": "分析员",
}  # fmt: skip
"""The roles that are no department, in Chinese (a department is named by its catalogue)."""


def role_names(core: ViewsCore) -> dict[str, str]:
    """Every role in Chinese: a department (``department:<name>``) by its title in the
    catalogue the feeds were built with, so a page names it as its feed's page does."""
    departments = feeds_of(core).departments.departments
    return {**ROLE_NAMES, **{f"department:{name}": d.title for name, d in departments.items()}}


def _named_roles(request: Request) -> dict[str, Any]:
    # every page's header names its viewer's roles (``base.html``), a page of an outage too,
    # which no route's dependencies reach: the core is the running service's
    state: ServiceState = request.app.state.service
    assert isinstance(state.core, ViewsCore)
    return {"role_names": role_names(state.core)}


templates = Jinja2Templates(directory=HERE / "templates", context_processors=[_named_roles])
templates.env.filters["pct"] = lambda v: "—" if v is None else f"{v * 100:.1f}%"
templates.env.filters["permille"] = lambda v: "—" if v is None else f"{v:.2f}‰"
templates.env.filters["tag"] = charts.tag_name
templates.env.filters["json"] = lambda v: json.dumps(v, ensure_ascii=False).replace("</", "<\\/")

ACTORS = {"hotline": "12345 热线", "person": "工作人员", "service": "系统", None: "—"}
KINDS = {
    "emergency": "紧急", "complaint": "投诉", "request": "求助", "enquiry": "咨询",
    "suggestion": "建议", "praise": "表扬",
}  # fmt: skip
FACTS = {
    "person_tagged": "纳入关注人群", "person_untagged": "移出关注人群",
    "floating_moved_in": "流动人口迁入", "floating_moved_out": "流动人口迁出",
    "became_floating": "转为流动人口", "ceased_floating": "不再为流动人口",
    "care_plan_started": "关爱计划开始", "care_plan_ended": "关爱计划结束",
    "care_visit_missed": "关爱走访漏访", "ticket_routed": "12345 工单派单",
    "ticket_replied": "12345 工单答复", "hazard_registered": "隐患登记",
    "hazard_inspected": "隐患巡查", "hazard_resolved": "隐患消除", "hazard_removed": "隐患撤销",
    "mediation_agreement_signed": "调解协议签订", "personal_data_erased": "个人信息删除",
}  # fmt: skip
"""Feed facts in Chinese (a fact not listed shows as it is spelled)."""
CASE_KINDS = {
    "dispute": "矛盾纠纷",
    "complaint": "投诉",
    "hazard": "安全隐患",
    "assistance": "帮扶",
}
FEED_PAGE = 100
LIVE_SECONDS = 3.0
"""How often a live page asks whether it changed (a 304 costs one small query)."""


@dataclass(frozen=True)
class OutOfReach:
    """The database out of reach, as the problem page shows it: no refusal of the domain (so
    no ``DomainError``), and over once the database is back."""

    detail: str = "暂时无法连接数据库，请稍后刷新"
    status: int = 503
    slug: str = "unavailable"
    retry_after: int = OUTAGE_RETRY_AFTER


class PageRoute(APIRoute):
    """A page's route: a dependency out of reach (the database, whether opening the page's
    connection or in one of its queries) is answered with the problem page, a 503 with
    ``Retry-After`` as the API's, where the service would answer the API's problem JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_or_outage(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:
                if not is_outage(error):
                    raise
                note_outage(request, error)
                return _problem(request, viewer_of(request), OutOfReach())

        return page_or_outage


router = APIRouter(include_in_schema=False, route_class=PageRoute)
Page = Callable[[AsyncConnection, Principal], Awaitable[tuple[str, dict[str, Any]]]]


async def _page(request: Request, conn: AsyncConnection, viewer: Principal, make: Page) -> Response:
    """A live page: 304 while nothing has changed for it, else rendered with its ETag; the API's
    errors as pages of their own (with the API's status and ``Retry-After``)."""
    etag = await etag_of(conn, request, viewer)
    if unchanged(request, etag):
        return Response(status_code=304, headers={"ETag": etag})
    try:
        template, context = await make(conn, viewer)
    except DomainError as error:
        return _problem(request, viewer, error)
    context = {"viewer": viewer, "live": LIVE_SECONDS, "etag": etag, **context}
    response = templates.TemplateResponse(request, template, context)
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _may(viewer: Principal, roles: tuple[str, ...]) -> None:
    """403, as the API route answering the same question refuses a role it does not let in."""
    if not viewer.has_any(roles):
        raise Forbidden(f"needs one of the roles: {', '.join(roles)}", field="role")


def _problem(
    request: Request, viewer: Principal | None, error: DomainError | OutOfReach
) -> Response:
    """The API's refusal (or an outage) as a page, with its status (and ``Retry-After``)."""
    headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
    return templates.TemplateResponse(
        request, "problem.html", {"viewer": viewer, "error": error, "live": None},
        status_code=error.status, headers=headers,
    )  # fmt: skip


@router.get("/", response_class=HTMLResponse)
async def start(request: Request, conn: ReadConnection, core: Core) -> Response:
    """Where a viewer starts: their area's overview, a grid worker their grid."""
    viewer = viewer_of(request)
    if viewer is None:
        return RedirectResponse("/signin", status_code=303)
    places = sorted(viewer.places, key=len)
    if viewer.has_any(["grid_worker"]) and places:
        return RedirectResponse(f"/grid/{places[-1]}", status_code=303)
    if viewer.has_any(["subdistrict_admin", "community_staff"]) and places:
        return RedirectResponse(f"/overview/{places[0]}", status_code=303)
    departments = sorted(r.removeprefix("department:") for r in viewer.roles
                         if r.startswith("department:"))  # fmt: skip
    if departments:
        return RedirectResponse(f"/feed/{departments[0]}", status_code=303)
    if viewer.has_any(["analyst"]):
        known = await subdistrict_codes(conn, await roster_tables(conn, core))
        if known:
            return RedirectResponse(f"/overview/{known[0]}", status_code=303)
    return templates.TemplateResponse(
        request, "problem.html", {"viewer": viewer, "live": None, "error": NotFound(
            "这个账号没有可看的页面", field="role")}, status_code=404,
    )  # fmt: skip


@router.get("/signin", response_class=HTMLResponse)
async def sign_in(
    request: Request, core: Core, error: str | None = None, back_to: str = "/"
) -> Response:
    """The sign-in page: in development a form minting a token for a role and place."""
    return templates.TemplateResponse(request, "signin.html", {
        "viewer": viewer_of(request), "live": None, "dev": dev_sign_in(core.settings),
        "error": error, "back_to": back_to, "roles": role_names(core),
    })  # fmt: skip


@router.get("/overview/{code}", response_class=HTMLResponse)
async def overview(
    request: Request, conn: ReadConnection, core: Core, viewer: Viewer, code: str,
    figure: str = Query("complaint_rate", pattern="^(" + "|".join(charts.MAP_FIGURES) + ")$"),
) -> Response:  # fmt: skip
    """A subdistrict's or community's overview: its figures, the three rates by month, special
    groups and care, training, hazards, and its grids on a map coloured by ``figure``."""

    async def make(conn: AsyncConnection, viewer: Principal) -> tuple[str, dict[str, Any]]:
        _may(viewer, FIGURES)
        place = await place_by_code(conn, await roster_tables(conn, core), code)
        if place is None or place.kind not in ("subdistrict", "community"):
            raise NotFound(f"no subdistrict or community {code}", field="code")
        require_figures_scope(viewer, code, place.kind)
        day = today()
        body, _ = await rendered(conn, core, place.kind, code, day)
        dashboard = json.loads(body)
        grids = visible(viewer, await grids_of(conn, core, place.kind, code, day)).model_dump(
            mode="json"
        )
        now = dashboard["current"]
        options = {
            "rates": charts.three_rates(dashboard["series"]),
            "tickets": charts.tickets_by_month(dashboard["series"]),
            "groups": charts.bars(now["special_groups"]["by_tag"], KNOWN_TAGS),
            "hazards": charts.bars(now["hazards"]["by_risk"], charts.RISKS),
            "map": charts.grid_map(f"grids-{code}", grids["grids"], figure),
        }
        return "overview.html", {
            "dashboard": dashboard, "now": now, "grids": grids["grids"], "options": options,
            "figure": figure, "figures": charts.MAP_FIGURES,
        }  # fmt: skip

    return await _page(request, conn, viewer, make)


@router.get("/grid/{code}", response_class=HTMLResponse)
async def grid(
    request: Request, conn: ReadConnection, core: Core, viewer: Viewer, code: str,
    offset: int = Query(0, ge=0, le=100_000),
) -> Response:  # fmt: skip
    """A grid: its worker, figures against its subdistrict's, and its households (masked)."""

    async def make(conn: AsyncConnection, viewer: Principal) -> tuple[str, dict[str, Any]]:
        _may(viewer, FIGURES)
        roster = await roster_tables(conn, core)
        place = await place_by_code(conn, roster, code)
        if place is None or place.kind != "grid":
            raise NotFound(f"no grid {code}", field="code")
        require_figures_scope(viewer, code, "grid")
        day = today()
        dashboard = json.loads((await rendered(conn, core, "grid", code, day))[0])
        subdistrict_code = code.split("-")[0]
        whole = json.loads((await rendered(conn, core, "subdistrict", subdistrict_code, day))[0])
        households = cases = worker = None
        if viewer.has_any(STAFF):  # analysts read figures, never a person: not the worker's name
            held = await grids_with_workers(conn, roster, [place.place_id])
            worker = held[0].worker if held else None
            households = await households_page(conn, core, viewer, code, None, offset)
            cases = (await open_cases_of(conn, core, viewer, code, day)).model_dump(mode="json")
        options = {
            "rates": charts.three_rates(dashboard["series"]),
            "tickets": charts.tickets_by_month(dashboard["series"]),
        }
        return "grid.html", {
            "dashboard": dashboard, "now": dashboard["current"], "whole": whole["current"],
            "worker": worker, "households": households, "options": options, "cases": cases,
            "case_kinds": CASE_KINDS,
        }  # fmt: skip

    return await _page(request, conn, viewer, make)


@router.get("/resident/{person_id}", response_class=HTMLResponse)
async def resident(
    request: Request, conn: ReadConnection, core: Core, viewer: Viewer, person_id: uuid.UUID
) -> Response:
    """A resident's picture (居民 360), masked as the API masks it."""

    async def make(conn: AsyncConnection, viewer: Principal) -> tuple[str, dict[str, Any]]:
        _may(viewer, STAFF)
        picture = await resident_picture(conn, core, viewer, person_id, None)
        return "resident.html", {"p": picture.model_dump(mode="json")}

    return await _page(request, conn, viewer, make)


@router.get("/matter/{correlation_id}", response_class=HTMLResponse)
async def matter(
    request: Request, conn: ReadConnection, core: Core, viewer: Viewer, correlation_id: str
) -> Response:
    """A matter's lineage (一件事): every step from the 12345 ticket to the 回访, in order."""

    async def make(conn: AsyncConnection, viewer: Principal) -> tuple[str, dict[str, Any]]:
        _may(viewer, STAFF)
        read = await matter_read(core, viewer, correlation_id, "correlation_id")
        return "matter.html", {"m": read.model_dump(mode="json"), "actors": ACTORS}

    return await _page(request, conn, viewer, make)


@router.get("/matter", response_class=HTMLResponse)
async def matter_of(
    request: Request, conn: ReadConnection, core: Core, viewer: Viewer,
    ticket_id: uuid.UUID | None = None, case_id: uuid.UUID | None = None,
) -> Response:  # fmt: skip
    """The matter of a ticket or a case (a link from a resident's picture), by its lineage."""
    found = None
    if viewer.has_any(STAFF) and (ticket_id is None) != (case_id is None):
        tables = await view_tables(conn, core, Matters.name)
        if ticket_id is not None:
            found = await matter_of_ticket(conn, tables, ticket_id)
        elif case_id is not None:
            found = await matter_of_case(conn, tables, case_id)
    if found is None:
        return _problem(request, viewer, NotFound("没有这件事", field="query"))
    return RedirectResponse(f"/matter/{found}", status_code=303)


@router.get("/triage-queue", response_class=HTMLResponse)
async def triage(request: Request, conn: ReadConnection, core: Core, viewer: Viewer) -> Response:
    """The triage queue: tickets no grid was found for, longest waiting first."""

    async def make(conn: AsyncConnection, viewer: Principal) -> tuple[str, dict[str, Any]]:
        _may(viewer, ("subdistrict_admin",))
        queue = await triage_queue(conn, core, viewer)
        return "triage.html", {"queue": queue.model_dump(mode="json"), "kinds": KINDS}

    return await _page(request, conn, viewer, make)


@router.get("/feed/{department}", response_class=HTMLResponse)
async def feed(
    request: Request, core: Core, viewer: Viewer,
    department: str = PathParam(pattern=r"^[a-z][a-z_]{1,39}$"),
    after: str | None = Query(None, max_length=64),
) -> Response:  # fmt: skip
    """A department's feed, oldest first, page by page. Its ETag is the page's own (a digest of
    what it says, as the API's): a poll that finds nothing new is a 304 and reads nothing, so
    only a page shown is recorded as a read (``wangge.views.FeedRead``), as the API records."""
    try:
        paged = await feed_for(core, viewer, department, after, FEED_PAGE)
    except DomainError as error:
        return _problem(request, viewer, error)
    etag = f'W/"{paged.etag.strip(chr(34)).removeprefix("W/").strip(chr(34))}-{viewer.subject}"'
    if unchanged(request, etag):
        return Response(status_code=304, headers={"ETag": etag})
    page = paged.page
    metadata = Metadata(actor=viewer.subject, traceparent=current_traceparent())
    commands = core.commands(metadata, method="GET", path=request.url.path)
    await record_read(
        commands, department=department, cursor_from=after, cursor_to=page.next,
        entries=len(page.entries), etag_matched=False,
    )  # fmt: skip
    response = templates.TemplateResponse(request, "feed.html", {
        "viewer": viewer, "live": LIVE_SECONDS, "etag": etag, "page": page.model_dump(mode="json"),
        "department": department, "after": after, "facts": FACTS,
        "title": feeds_of(core).departments.departments[department].title,
    })  # fmt: skip
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = "private, no-cache"
    return response


__all__ = ["ViewNotReady", "router"]
