"""The views' routes given bad input, on the embedded default: a malformed or out-of-range
parameter is a problem+json 4xx naming it, something unknown a 404, never a 500 nor a traceback.

One world for the module (a grid with a resident, her household, a ticket at their dwelling and
an entry in two departments' feeds), read by the service's own runners, then asked badly."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from wangge.service.testing import Running, started
from wangge.views.app import MIGRATIONS, build_app
from wangge.views.config import ViewsSettings
from wangge.views.consumed import hotline, registry
from wangge.views.domain.feeds import Cursor

from views_support import Tree, Upstream, plant_tree, settings_for, upstream_stores

PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class World:
    """The running service and what its views hold."""

    service: Running[ViewsSettings]
    tree: Tree
    person: uuid.UUID
    household: uuid.UUID
    ticket: uuid.UUID
    admin: Mapping[str, str]
    civil: Mapping[str, str]
    justice_cursor: str
    civil_cursor: str


async def _populate(upstream: Upstream) -> tuple[Tree, uuid.UUID, uuid.UUID, uuid.UUID]:
    tree = await plant_tree(upstream)
    person, other, household, ticket = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    since = date(2024, 3, 1)
    for someone, tag in ((person, "elderly_living_alone"), (other, "community_correction")):
        await upstream.append(
            "registry", f"person-{someone}",
            registry.PersonRegistered(
                person_id=someone, sex="female", birth_year=1948, name_masked="王*",
                identity_masked="320111********123X", phone_masked="138****5678",
                hukou_type="local", residence_status="resident",
            ),
            registry.PersonMovedIn(person_id=someone, dwelling_id=tree.dwelling, on=since),
            registry.PersonTagged(person_id=someone, tag=tag, source="民政局", valid_from=since),
        )  # fmt: skip
    await upstream.append(
        "registry", f"household-{household}",
        registry.HouseholdRegistered(
            household_id=household, number=f"H{household.hex[:6]}", type="family",
            dwelling_id=tree.dwelling, head_person_id=person, on=since,
        ),
        registry.HouseholdMemberJoined(
            household_id=household, person_id=person, relationship="head", on=since
        ),
    )  # fmt: skip
    received = datetime(2026, 3, 2, 9, tzinfo=UTC)
    await upstream.append(
        "hotline_bridge", f"ticket-{ticket}",
        hotline.TicketReceived(
            ticket_id=ticket, ticket_number=f"GD{ticket.hex[:10]}", channel="phone",
            received_at=received, category="0301", category_name="噪声扰民", kind="complaint",
            content="楼下噪声", address="滨江社区12栋1201", urgency="normal",
            deadline=received + timedelta(days=5), deadline_source="catalogue",
            push_fingerprint="f1",
        ),
        hotline.TicketRoutedToGrid(
            ticket_id=ticket, grid_id=tree.grid, method="dwelling", place_id=tree.dwelling,
            detail="the dwelling's address",
        ),
    )  # fmt: skip
    return tree, person, household, ticket


async def _first_cursor(service: Running[ViewsSettings], department: str) -> str:
    """The cursor of the first entry of a department's feed, once the runners wrote it and the
    resident's picture shows the ticket (every view has caught up by then)."""
    admin = service.as_("subdistrict_admin", places=["320111001"])
    for _ in range(200):
        answer = await service.client.get(f"/feeds/{department}", headers=admin)
        entries = answer.json().get("entries", []) if answer.status_code == 200 else []
        if entries:
            return str(entries[0]["cursor"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {department} feed never filled: {answer.text}")


async def _until(service: Running[ViewsSettings], path: str, headers: Any, ready: Any) -> None:
    for _ in range(200):
        answer = await service.client.get(path, headers=headers)
        if answer.status_code == 200 and ready(answer.json()):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never got there: {answer.status_code} {answer.text}")


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("views-bad-input")
    async with upstream_stores(data_dir) as upstream:
        tree, person, household, ticket = await _populate(upstream)
        settings = settings_for("sqlite", data_dir, None)
        async with started(settings, build_app, MIGRATIONS) as service:
            admin = service.as_("subdistrict_admin", places=["320111001"])
            await _until(service, f"/residents/{person}", admin, lambda p: bool(p["tickets"]))
            justice_cursor = await _first_cursor(service, "justice")
            civil_cursor = await _first_cursor(service, "civil_affairs")
            yield World(
                service, tree, person, household, ticket, admin,
                service.as_("department:civil_affairs", places=["320111001"]),
                justice_cursor, civil_cursor,
            )  # fmt: skip


def problem_of(answer: httpx.Response, status: int) -> dict[str, Any]:
    """The problem details of a refused request, checked to be what a client can act on."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    assert "Traceback" not in answer.text
    return body


def fields(body: Mapping[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors", [])}


# -- as_of --------------------------------------------------------------------------------------


@pytest.mark.parametrize("day", ["9999-12-31", "2100-01-01", "2001-12-31", "0001-01-01"])
async def test_a_picture_as_of_a_day_out_of_range_is_a_422_naming_as_of(
    world: World, day: str
) -> None:
    # 9999-12-31 was a 500: the end of that day is past the last date Python holds, computed
    # for the ticket at the dwelling; the other days answered a picture of nothing (or a 404)
    for path in (f"/residents/{world.person}", f"/households/{world.household}"):
        answer = await world.service.client.get(f"{path}?as_of={day}", headers=world.admin)
        body = problem_of(answer, 422)
        assert body["type"] == "urn:wangge:problem:bad-as-of"
        assert fields(body) == {"query/as_of"}


async def test_the_dashboard_names_the_as_of_it_refuses_as_the_pictures_do(world: World) -> None:
    answer = await world.service.client.get(
        "/grids/320111001-001-001/dashboard?as_of=9999-12-31", headers=world.admin
    )
    assert fields(problem_of(answer, 422)) == {"query/as_of"}  # was "as_of"


async def test_the_edges_of_the_as_of_range_are_answered(world: World) -> None:
    for day in ("2002-01-01", "2099-12-31"):
        answer = await world.service.client.get(
            f"/households/{world.household}?as_of={day}", headers=world.admin
        )
        assert answer.status_code in (200, 404), answer.text  # 404: not registered yet


# -- path parameters ----------------------------------------------------------------------------


OTHER_DIGITS = [
    "320111001-001-001".translate({ord("0") + d: zero + d for d in range(10)})
    for zero in (0xFF10, 0x0660)  # full-width, Arabic-Indic: \d takes both
]


@pytest.mark.parametrize("code", OTHER_DIGITS, ids=["full-width", "arabic-indic"])
async def test_a_place_code_in_other_digits_is_a_422_not_an_unknown_place(
    world: World, code: str
) -> None:
    # was a 404: \d took full-width and Arabic-Indic digits, a code no place has
    answer = await world.service.client.get(f"/grids/{code}/dashboard", headers=world.admin)
    assert fields(problem_of(answer, 422)) == {"path/code"}


@pytest.mark.parametrize("bad", ["%00", "abc%00", "a%0Ab"], ids=["nul", "nul-inside", "newline"])
async def test_a_correlation_id_no_matter_can_have_is_a_422(world: World, bad: str) -> None:
    # were 404s on SQLite; PostgreSQL refuses a NUL in text, so there the NUL was a 500
    answer = await world.service.client.get(f"/matters/{bad}", headers=world.admin)
    assert fields(problem_of(answer, 422)) == {"path/correlation_id"}


@pytest.mark.parametrize("unknown", ["not-a-uuid", "00000000-0000-0000-0000-000000000000",
                                     "你好", "tab%09inside", "x" * 200, "x" * 2000])  # fmt: skip
async def test_an_unknown_correlation_id_is_a_404(world: World, unknown: str) -> None:
    # of any length: the envelope bounds none, so a matter's id is as long as upstream made it
    answer = await world.service.client.get(f"/matters/{unknown}", headers=world.admin)
    assert fields(problem_of(answer, 404)) == {"correlation_id"}


@pytest.mark.parametrize("by", ["ticket_id", "case_id"])
async def test_the_matter_of_an_unknown_ticket_or_case_is_a_404_saying_which(
    world: World, by: str
) -> None:
    asked = uuid.uuid4()
    answer = await world.service.client.get(f"/matters?{by}={asked}", headers=world.admin)
    body = problem_of(answer, 404)
    # was "no matter None"
    assert body["detail"] == f"no matter of {by.removesuffix('_id')} {asked}"
    assert fields(body) == {f"query/{by}"}


@pytest.mark.parametrize(
    "bad", ["not-a-uuid", "%00", "%F0%9F%98%80", "a" * 5000, "%E4%BD%A0%E5%A5%BD"]
)
async def test_a_malformed_person_or_household_id_is_a_422_naming_it(
    world: World, bad: str
) -> None:
    for path, name in (("residents", "person_id"), ("households", "household_id")):
        answer = await world.service.client.get(f"/{path}/{bad}", headers=world.admin)
        assert fields(problem_of(answer, 422)) == {f"path/{name}"}


# -- the feeds' cursors -------------------------------------------------------------------------


def generation_of(cursor: str) -> int:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    return int(raw.split(".")[0])


async def test_a_cursor_from_another_departments_feed_is_a_422(world: World) -> None:
    # was a 200: its position was taken as a place in this feed, silently skipping entries
    answer = await world.service.client.get(
        f"/feeds/civil_affairs?after={world.justice_cursor}", headers=world.civil
    )
    body = problem_of(answer, 422)
    assert body["type"] == "urn:wangge:problem:bad-cursor"
    assert fields(body) == {"query/after"}


@pytest.mark.parametrize("position", [10**17, 999_999_999_999_999_999])
async def test_a_cursor_past_the_last_entry_is_a_422(world: World, position: int) -> None:
    # was a 200 with no entries and this cursor as next: the feed's later entries never came
    cursor = Cursor(generation_of(world.civil_cursor), position).encode()
    answer = await world.service.client.get(
        f"/feeds/civil_affairs?after={cursor}", headers=world.civil
    )
    assert fields(problem_of(answer, 422)) == {"query/after"}


async def test_the_feeds_own_cursors_still_page_it(world: World) -> None:
    start = Cursor(generation_of(world.civil_cursor), 0).encode()
    for cursor in (world.civil_cursor, start):
        answer = await world.service.client.get(
            f"/feeds/civil_affairs?after={cursor}", headers=world.civil
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        again = await world.service.client.get(
            f"/feeds/civil_affairs?after={page['next']}", headers=world.civil
        )
        assert again.status_code == 200, again.text
    first = await world.service.client.get(f"/feeds/civil_affairs?after={start}",
                                           headers=world.civil)  # fmt: skip
    assert [e["cursor"] for e in first.json()["entries"]] == [world.civil_cursor]


# -- repeated query parameters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "repeated"),
    [
        ("/residents/{person}?as_of=2026-01-01&as_of=2026-06-30", "as_of"),
        ("/households/{household}?as_of=2026-01-01&as_of=2026-06-30", "as_of"),
        ("/grids/320111001-001-001/dashboard?as_of=2026-01-01&as_of=2026-06-30", "as_of"),
        ("/matters?ticket_id={ticket}&ticket_id={other}", "ticket_id"),
        ("/feeds/civil_affairs?limit=1&limit=2", "limit"),
        ("/feeds/civil_affairs?after={cursor}&limit=5&after={cursor}", "after"),
    ],
)
async def test_a_query_parameter_given_twice_is_a_422_naming_it(
    world: World, path: str, repeated: str
) -> None:
    # was a 200 answering the last value, whatever the client (or a proxy) read as the first
    url = path.format(
        person=world.person, household=world.household, ticket=world.ticket,
        other=uuid.uuid4(), cursor=world.civil_cursor,
    )  # fmt: skip
    headers = world.civil if url.startswith("/feeds") else world.admin
    body = problem_of(await world.service.client.get(url, headers=headers), 422)
    assert body["type"] == "urn:wangge:problem:repeated-parameter"
    assert fields(body) == {f"query/{repeated}"}


# -- what was right already, kept so -------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "header", "status"),
    [
        ("limit=0", None, 422), ("limit=-1", None, 422), ("limit=1001", None, 422),
        ("limit=abc", None, 422), ("limit=99999999999999999999", None, 422),
        ("after=garbage", None, 422), ("after=", None, 422), ("after=%00", None, 422),
        ("after=" + "a" * 65, None, 422), ("after=" + Cursor(99, 1).encode(), None, 410),
        ("limit=1", "garbage", 200), ("limit=1", '"a", "b"', 200), ("limit=1", "*", 304),
        ("limit=1", "x" * 201, 422),
    ],
)  # fmt: skip
async def test_feed_paging_and_preconditions_answer_as_documented(
    world: World, query: str, header: str | None, status: int
) -> None:
    headers = {**world.civil, **({"If-None-Match": header} if header is not None else {})}
    answer = await world.service.client.get(f"/feeds/civil_affairs?{query}", headers=headers)
    assert answer.status_code == status, answer.text
    if status >= 400:
        problem_of(answer, status)


async def test_a_weak_etag_of_the_page_matches(world: World) -> None:
    first = await world.service.client.get("/feeds/civil_affairs", headers=world.civil)
    weak = {**world.civil, "If-None-Match": f"W/{first.headers['ETag']}"}
    again = await world.service.client.get("/feeds/civil_affairs", headers=weak)
    assert again.status_code == 304


async def test_bad_tokens_and_roles_without_scope_are_refused_as_problems(world: World) -> None:
    service = world.service
    issuer = service.issuer
    expired = issuer.issue(
        "someone", roles=["subdistrict_admin"], places=["320111001"],
        now=datetime.now(UTC).timestamp() - 9 * 3600,
    )  # fmt: skip
    person = f"/residents/{world.person}"
    for token in ("garbage", expired, ""):
        answer = await service.client.get(person, headers={"Authorization": f"Bearer {token}"})
        problem_of(answer, 401)
    for role in ("grid_worker", "community_staff", "subdistrict_admin"):
        problem_of(await service.client.get(person, headers=service.as_(role)), 404)
    for role in ("grid_worker", "community_staff"):  # a ticket no grid took: the admins'
        matter = f"/matters?ticket_id={world.ticket}"
        problem_of(await service.client.get(matter, headers=service.as_(role)), 404)
    problem_of(await service.client.get("/feeds/tax", headers=world.civil), 404)
    problem_of(await service.client.get("/feeds/justice", headers=world.civil), 403)
    problem_of(await service.client.get(person, headers=world.civil), 403)


async def test_head_and_options_are_405_problems_naming_get(world: World) -> None:
    for method in ("HEAD", "OPTIONS"):
        answer = await world.service.client.request(
            method, f"/residents/{world.person}", headers=world.admin
        )
        assert answer.status_code == 405
        assert answer.headers["allow"] == "GET"
