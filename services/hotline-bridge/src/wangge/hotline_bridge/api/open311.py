"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): a second door onto tickets.

Any GeoReport v2 client works against ``/open311/v2``: the service list and definitions come
from the dispatch catalogue; ``POST requests`` (with an API key) takes a request in as a ticket,
the same way a hotline push is taken in; ``GET requests`` filters by id, service, dates and
status. Every resource answers in JSON or XML, as its ``.json`` or ``.xml`` suffix asks.

Errors follow the specification, not RFC 9457: clients of this door parse
``[{"code": 400, "description": "..."}]`` (``<errors><error>`` in XML), so that is what they get.
Only requests that came in through this door are listed or shown here: tickets the hotline
pushed stay behind the hotline's own, signed door.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.etree import ElementTree

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import Metadata
from wangge.events.db import read_only
from wangge.governance.errors import DomainError
from wangge.governance.times import stored
from wangge.hotline_bridge.api.deps import Catalogue, Core
from wangge.hotline_bridge.bootstrap import HotlineCore
from wangge.hotline_bridge.domain.tickets import Channel, Intake, Location, Urgency
from wangge.hotline_bridge.handlers.intake import NewTicket, take_in
from wangge.hotline_bridge.projections.tickets import through_door

router = APIRouter(prefix="/open311/v2", tags=["open311"])

_EITHER: dict[str, Any] = {"application/json": {}, "text/xml": {}}
"""Every Open311 answer comes in JSON or XML, as the path's suffix asks."""


def _answers(*errors: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of an Open311 route: its answer and its errors, in the
    specification's format (``[{"code", "description"}]``, ``<errors><error>``), JSON or XML;
    an unknown suffix is a 404 in JSON."""
    described = {400: "a parameter is wrong", 403: "no known api_key", 404: "no such record"}
    return {
        200: {"description": "the answer, as JSON or XML", "content": _EITHER},
        **{
            status: {"description": described[status], "content": _EITHER}
            for status in sorted({*errors, 404})
        },
    }


async def _ticket_id(
    conn: AsyncConnection, ticket_id: uuid.UUID, new: NewTicket | None
) -> uuid.UUID:
    return ticket_id  # the answer is the request's id, known before the intake


MAX_REQUESTS = 1000
"""The most requests one ``GET requests`` returns (the specification's default window)."""
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""The times ``start_date`` and ``end_date`` may take."""
_WHOLE = re.compile(r"[0-9]{1,9}")
DEFAULT_WINDOW = timedelta(days=90)
CLOSED = {"closed"}
"""Ticket statuses Open311 reports as ``closed`` (every other status is ``open``)."""


class Open311Error(Exception):
    """An error in the specification's own format."""

    def __init__(self, status: int, description: str, fmt: str = "json") -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.fmt = fmt


def _render(fmt: str, root: str, item: str, rows: Sequence[Mapping[str, Any]]) -> Response:
    """A list of records as JSON, or as XML ``<root><item>…</item></root>``."""
    if fmt == "json":
        return JSONResponse(list(rows))
    top = ElementTree.Element(root)
    for row in rows:
        element = ElementTree.SubElement(top, item)
        for name, value in row.items():
            child = ElementTree.SubElement(element, name)
            if isinstance(value, list):
                for word in value:
                    ElementTree.SubElement(child, "keyword").text = str(word)
            elif value is not None:
                child.text = str(value).lower() if isinstance(value, bool) else str(value)
    body = ElementTree.tostring(top, encoding="unicode", xml_declaration=True)
    return Response(body, media_type="text/xml; charset=utf-8")


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Open311Error)
    response = _render(
        exc.fmt, "errors", "error", [{"code": exc.status, "description": exc.description}]
    )
    response.status_code = exc.status
    return response


def install(app: FastAPI) -> None:
    """Add the Open311 routes and their error format to the app."""
    app.include_router(router)
    app.add_exception_handler(Open311Error, _error)


def _format(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, f"no format {fmt!r}: ask for .json or .xml")
    return fmt


@router.get("/services.{fmt}", summary="Service list", responses=_answers())
async def service_list(fmt: str, catalogue: Catalogue) -> Response:
    """Every category of the dispatch catalogue, as an Open311 service."""
    fmt = _format(fmt)
    return _render(
        fmt,
        "services",
        "service",
        [
            {
                "service_code": c.code,
                "service_name": c.name,
                "description": f"{c.name} ({c.kind})",
                "metadata": False,
                "type": "realtime",
                "keywords": [c.kind.value],
                "group": c.kind.value,
            }
            for c in catalogue.categories
        ],
    )


@router.get("/services/{service_code}.{fmt}", summary="Service definition", responses=_answers())
async def service_definition(service_code: str, fmt: str, catalogue: Catalogue) -> Response:
    """A service's extra attributes: none, every category is described by its name alone."""
    fmt = _format(fmt)
    if catalogue.get(service_code) is None:
        raise Open311Error(404, f"no service {service_code}", fmt)
    if fmt == "json":
        return JSONResponse({"service_code": service_code, "attributes": []})
    top = ElementTree.Element("service_definition")
    ElementTree.SubElement(top, "service_code").text = service_code
    ElementTree.SubElement(top, "attributes")
    body = ElementTree.tostring(top, encoding="unicode", xml_declaration=True)
    return Response(body, media_type="text/xml; charset=utf-8")


def _field(form: Mapping[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0].strip() or None if values else None


def _float(form: Mapping[str, list[str]], name: str, fmt: str) -> float | None:
    text = _field(form, name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise Open311Error(400, f"{name}: not a number", fmt) from None


@router.post("/requests.{fmt}", summary="Post a service request", responses=_answers(400, 403))
async def post_request(request: Request, fmt: str, core: Core) -> Response:
    """Take a request in as a ticket (form-encoded, as the specification has it)."""
    fmt = _format(fmt)
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise Open311Error(400, "post the request form-encoded", fmt)
    try:
        # strict, also for what percent-escapes carry: a caller's words stored as "\ufffd" are
        # lost, and the client is the one who can send them again
        form = parse_qs(
            (await request.body()).decode("utf-8"), keep_blank_values=True, errors="strict"
        )
    except UnicodeDecodeError as error:
        raise Open311Error(400, f"the form is not UTF-8 text (byte {error.start})", fmt) from error
    clients = core.settings.open311_clients()
    client = clients.get(_field(form, "api_key") or "")
    if client is None:
        raise Open311Error(403, "api_key: missing or unknown", fmt)
    code = _field(form, "service_code")
    category = core.catalogue.get(code or "")
    if category is None:
        raise Open311Error(400, f"service_code: no service {code!r}", fmt)
    lat, long = _float(form, "lat", fmt), _float(form, "long", fmt)
    address = _field(form, "address_string")
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat and long: give both, or neither", fmt)
    if address is None and lat is None:
        raise Open311Error(400, "address_string, or lat and long: one is required", fmt)
    try:
        location = Location(longitude=long, latitude=lat) if lat is not None else None
    except ValueError:
        raise Open311Error(400, "lat and long: not a point on Earth", fmt) from None
    description = _field(form, "description") or category.name
    if len(description) > 4000 or len(address or "") > 200:
        raise Open311Error(400, "description (4,000) or address_string (200) is too long", fmt)
    name = "".join(filter(None, (_field(form, "last_name"), _field(form, "first_name")))) or None
    number = f"O311-{uuid.uuid4().hex[:16].upper()}"
    intake = Intake(
        ticket_number=number,
        channel=Channel.APP,
        received_at=datetime.now(UTC),
        category_code=category.code,
        content=description,
        address=address or f"{long},{lat}",
        urgency=Urgency.NORMAL,
        fingerprint=hashlib.sha256(number.encode()).hexdigest(),
        caller_name=name,
        caller_phone=_field(form, "phone"),
        location=location,
        door="open311",
    )
    try:
        await take_in(
            core.commands(Metadata(actor=f"open311:{client}")),
            intake,
            keyring=core.keyring,
            queue=core.intakes,
            catalogue=core.catalogue,
            settings=core.settings,
            view=_ticket_id,
        )
    except DomainError as error:
        raise Open311Error(400, f"{error.field}: {error.detail}", fmt) from None
    notice = f"{category.name}: a reply within {category.time_limit.describe()}"
    return _render(
        fmt,
        "service_requests",
        "request",
        [{"service_request_id": number, "service_notice": notice, "account_id": None}],
    )


@router.get(
    "/tokens/{token}.{fmt}", summary="Service request id from a token", responses=_answers()
)
async def token(token: str, fmt: str, core: Core) -> Response:
    """Requests are taken in at once: a token is the request's own id."""
    fmt = _format(fmt)
    await _one_request(core, token, fmt, "token")
    return _render(
        fmt, "service_requests", "request", [{"service_request_id": token, "token": token}]
    )


def _datetime(text: str | None, name: str, fmt: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name}: not a W3C date and time", fmt) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    # near year 1 and year 9999 the window's arithmetic and the conversion to UTC overflow
    if not EARLIEST <= moment < LATEST:
        raise Open311Error(400, f"{name}: a time from {EARLIEST:%Y} to {LATEST:%Y}", fmt)
    return moment


async def _one_request(
    core: HotlineCore, request_id: str, fmt: str, what: str
) -> list[dict[str, Any]]:
    """The request ``request_id`` names, as a list of one; none is a 404 naming it ``what``."""
    rows = await _requests(core, ids=[request_id])
    if not rows:
        raise Open311Error(404, f"no {what} {request_id}", fmt)
    return rows


async def _requests(
    core: HotlineCore,
    *,
    ids: Sequence[str] = (),
    service_code: Sequence[str] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = MAX_REQUESTS,
) -> list[dict[str, Any]]:
    received = None
    if not ids:
        end = end or datetime.now(UTC)
        received = (start or end - DEFAULT_WINDOW, end)
    async with read_only(core.store.engine) as conn:
        rows = await through_door(
            conn,
            await core.tickets(conn),
            "open311",
            numbers=ids,
            received=received,
            categories=service_code,
            status_in=CLOSED if status == "closed" else None,
            status_not_in=CLOSED if status == "open" else None,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
        return [
            {
                "service_request_id": r.ticket_number,
                "status": "closed" if r.status in CLOSED else "open",
                "status_notes": None,
                "service_name": r.category_name,
                "service_code": r.category,
                "description": r.content,
                "agency_responsible": "12345",
                "service_notice": None,
                "requested_datetime": stored(r.received_at).isoformat(),
                "updated_datetime": stored(r.updated_at).isoformat(),
                "expected_datetime": stored(r.deadline).isoformat(),
                "address": r.address,
                "address_id": None,
                "zipcode": None,
                "lat": r.latitude,
                "long": r.longitude,
                "media_url": None,
            }
            for r in rows
        ]


def _int(text: str | None, name: str, fmt: str, default: int, most: int) -> int:
    if not text:
        return default
    # isdigit() also takes digits int() refuses ("²"), and a few thousand digits int() refuses
    if not _WHOLE.fullmatch(text) or not 1 <= int(text) <= most:
        raise Open311Error(400, f"{name}: a whole number from 1 to {most}", fmt)
    return int(text)


@router.get("/requests.{fmt}", summary="Service requests", responses=_answers(400))
async def get_requests(request: Request, fmt: str, core: Core) -> Response:
    """Requests by id (comma-separated), or by service, time window (90 days) and status."""
    fmt = _format(fmt)
    q = request.query_params
    status = q.get("status") or None
    if status not in (None, "open", "closed"):
        raise Open311Error(400, "status: open or closed", fmt)
    rows = await _requests(
        core,
        ids=[i for i in (q.get("service_request_id") or "").split(",") if i],
        service_code=[c for c in (q.get("service_code") or "").split(",") if c],
        start=_datetime(q.get("start_date"), "start_date", fmt),
        end=_datetime(q.get("end_date"), "end_date", fmt),
        status=status,
        page=_int(q.get("page"), "page", fmt, 1, 10_000),
        page_size=_int(q.get("page_size"), "page_size", fmt, MAX_REQUESTS, MAX_REQUESTS),
    )
    return _render(fmt, "service_requests", "request", rows)


@router.get(
    "/requests/{service_request_id}.{fmt}", summary="A service request", responses=_answers()
)
async def get_request(service_request_id: str, fmt: str, core: Core) -> Response:
    """One request (a list of one, as the specification has it)."""
    fmt = _format(fmt)
    rows = await _one_request(core, service_request_id, fmt, "service request")
    return _render(fmt, "service_requests", "request", rows)
