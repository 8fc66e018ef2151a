"""The web dashboard as its users meet it, in Debian's Chromium: the subdistrict's admin reads
the overview (every figure the API's), follows a grid to a resident and sees only masked values;
a grid worker sees only their grid; a signed 12345 push shows up on open pages without a
reload; every page passes axe-core's check and is photographed (``var/screenshots``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from browser_support import WAIT_MS, accessible, charts_drawn, screenshot, signed_in
from playwright.async_api import Browser, Page, expect

from wangge.hotline_bridge.domain.metrics import CST
from wangge.registry.bootstrap import registry as open_registry
from wangge.registry.census import CensusImport
from wangge.service.testing import served

from hotline_support import push, ticket
from quintet_support import Quintet
from registry_support import identity_number
from trio_support import WORKER, eventually, json_of

SUBDISTRICT = "320111001"
NAME = "王秀英"
PHONE = "13912345678"


def _square(lon: float, lat: float, side: float = 0.004) -> dict[str, Any]:
    """A grid's boundary: a square, counter-clockwise (RFC 7946)."""
    ring = [[lon, lat], [lon + side, lat], [lon + side, lat + side], [lon, lat + side], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


async def _subdistrict(q: Quintet) -> None:
    """The tree's household of 1201 (two people, one of them an elderly person living alone)
    and both grids' boundaries, drawn after the grids were registered, as the city's GIS does."""
    tree = q.trio.tree
    base = dict.fromkeys(
        ("ethnicity", "occupation", "employer", "moved_in_on", "moved_in_from", "moved_out_on",
         "whereabouts", "tags", "phone"), "",
    )  # fmt: skip
    base |= {
        "grid_code": tree.grid_code, "building_number": "12栋", "unit_number": "2单元",
        "dwelling_number": "1201", "dwelling_usage": "rented", "household_number": "H-1201",
        "household_type": "family", "hukou_type": "local", "residence_status": "resident",
    }  # fmt: skip
    rows = [
        base | {"relationship": "head", "name": NAME, "phone": PHONE,
                "tags": "elderly_living_alone",
                "identity_number": identity_number("19420305", sex="female")},
        base | {"relationship": "child", "name": "李明", "residence_status": "floating",
                "identity_number": identity_number("19850611")},
    ]  # fmt: skip
    async with open_registry(q.trio.registry.settings) as parts:
        importer = CensusImport(parts, census_date=date(2026, 1, 1))
        await importer.load()
        assert (await importer.run(enumerate(rows, 2))).imported == 2
    for n, grid in enumerate((tree.grid, q.trio.second_grid)):
        drawn = await q.trio.registry.client.put(
            f"/places/{grid}/boundary", json={"boundary": _square(118.62 + 0.004 * n, 32.06)},
            headers=tree.admin,
        )  # fmt: skip
        assert drawn.status_code == 200, drawn.text


async def _ready(q: Quintet) -> dict[str, Any]:
    """Once the views hold the household and both boundaries: the subdistrict's grids list."""
    admin = q.staff()
    views = q.views.client

    async def shown() -> Any:
        grids = await views.get(f"/subdistricts/{SUBDISTRICT}/grids", headers=admin)
        households = await views.get(f"/grids/{q.trio.tree.grid_code}/households", headers=admin)
        if grids.status_code != 200 or households.status_code != 200:
            return None
        listed = grids.json()
        drawn = all(g["boundary"] for g in listed["grids"]) and len(listed["grids"]) == 2
        return listed if drawn and households.json()["total"] == 1 else None

    found: dict[str, Any] = await eventually(shown, seconds=60, what="the household and maps")
    return found


@dataclass(frozen=True)
class Seeded:
    """The seeded subdistrict, the views caught up with it, served to the browser."""

    q: Quintet
    browser: Browser
    base: str
    """The served views app's base URL."""
    grids: dict[str, Any]
    """The subdistrict's grids list, as the API answered once the views held it all."""

    async def signed_in(self, role: str, place: str, name: str) -> Page:
        """A page of a new browser context, signed in as ``role`` in ``place``."""
        return await signed_in(self.browser, self.base, role, place, name)


@pytest.fixture
async def seeded(quintet: Quintet, browser: Browser) -> AsyncIterator[Seeded]:
    """The household of 1201 and both boundaries (:func:`_subdistrict`) in the views, and
    the views app served for the test's browser pages."""
    await _subdistrict(quintet)
    grids = await _ready(quintet)
    async with served(quintet.views.app) as base:
        yield Seeded(quintet, browser, base, grids)


def _at(answer: Any, path: str) -> Any:
    for part in path.split("."):
        answer = answer[part]
    return answer


async def _figures_equal_the_api(page: Page, answer: dict[str, Any]) -> int:
    """Every figure tile of the page holds the API's number (its ``data-value``)."""
    tiles = await page.locator(".kpi[data-figure]").evaluate_all(
        "all => all.map(e => [e.dataset.figure, e.dataset.value])"
    )
    assert tiles
    for path, value in tiles:
        assert json.loads(value) == _at(answer, path), path
    return len(tiles)


async def test_an_admin_reads_the_overview_then_a_grid_then_a_masked_resident(
    seeded: Seeded,
) -> None:
    q, tree, base = seeded.q, seeded.q.trio.tree, seeded.base
    page = await seeded.signed_in("subdistrict_admin", SUBDISTRICT, "admin")
    await expect(page).to_have_url(f"{base}/overview/{SUBDISTRICT}")
    await page.goto("/signin")  # the sign-in page itself, signed in or not
    await accessible(page)
    await page.goto("/")
    await charts_drawn(page)
    api = await json_of(await q.views.client.get(
        f"/subdistricts/{SUBDISTRICT}/dashboard", headers=q.staff()))  # fmt: skip
    assert await _figures_equal_the_api(page, api) >= 10
    rows = page.locator("table.grids tbody tr")
    assert await rows.evaluate_all("rs => rs.map(r => r.dataset.grid)") == [
        g["code"] for g in seeded.grids["grids"]
    ]
    await accessible(page)
    await screenshot(page, "overview")
    for width, height in ((1366, 768), (3840, 2160)):  # a laptop and a wall screen
        await page.set_viewport_size({"width": width, "height": height})
        await page.wait_for_function(f"document.body.dataset.width === '{width}'")
        await charts_drawn(page)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (width, overflow)
    await screenshot(page, "overview-wall")
    await page.set_viewport_size({"width": 1366, "height": 900})

    await page.click(f"tr[data-grid='{tree.grid_code}'] a")
    await expect(page).to_have_url(f"{base}/grid/{tree.grid_code}")
    await charts_drawn(page)
    grid_api = await json_of(await q.views.client.get(
        f"/grids/{tree.grid_code}/dashboard", headers=q.staff()))  # fmt: skip
    await _figures_equal_the_api(page, grid_api)
    await expect(page.get_by_test_id("worker")).to_contain_text("张伟")
    await accessible(page)
    await screenshot(page, "grid")

    person = page.locator("a.person", has_text="王*")
    person_id = await person.get_attribute("data-person")
    await person.click()
    await expect(page).to_have_url(f"{base}/resident/{person_id}")
    picture = await json_of(await q.views.client.get(
        f"/residents/{person_id}", headers=q.staff()))  # fmt: skip
    await expect(page.get_by_test_id("name")).to_have_text(picture["name_masked"])
    await expect(page.get_by_test_id("identity")).to_have_text(picture["identity_masked"])
    await expect(page.get_by_test_id("phone")).to_have_text(picture["phone_masked"])
    assert "*" in picture["name_masked"] and "*" in picture["phone_masked"]
    content = await page.content()
    assert NAME not in content and PHONE not in content
    await expect(page.locator(".tag")).to_contain_text("独居老人")
    await accessible(page)
    await screenshot(page, "resident")


async def test_a_grid_worker_sees_only_their_grid(seeded: Seeded) -> None:
    q, tree, base = seeded.q, seeded.q.trio.tree, seeded.base
    second = (await json_of(await q.trio.registry.client.get(
        f"/places/{q.trio.second_grid}", headers=tree.admin)))["code"]  # fmt: skip
    page = await seeded.signed_in("grid_worker", tree.grid_code, WORKER)
    await expect(page).to_have_url(f"{base}/grid/{tree.grid_code}")
    await expect(page.locator("a.person")).to_have_count(2)
    await page.goto(f"/overview/{SUBDISTRICT}")  # the roll-up's figures, their grid alone
    rows = page.locator("table.grids tbody tr")
    assert await rows.evaluate_all("rs => rs.map(r => r.dataset.grid)") == [tree.grid_code]
    answer = await page.goto(f"/grid/{second}")
    assert answer is not None and answer.status == 404
    await expect(page.get_by_test_id("problem")).to_be_visible()
    await accessible(page)


async def test_a_pushed_ticket_shows_on_open_pages_without_a_reload(seeded: Seeded) -> None:
    q, tree = seeded.q, seeded.q.trio.tree
    overview = await seeded.signed_in("subdistrict_admin", SUBDISTRICT, "admin")
    await charts_drawn(overview)
    grid = await overview.context.new_page()
    await grid.goto(f"/grid/{tree.grid_code}")
    await charts_drawn(grid)
    tickets = ".kpi[data-figure='current.hotline.tickets']"
    before = {}
    for page in (overview, grid):
        before[page] = int(await page.locator(tickets).get_attribute("data-value") or "")
        await page.evaluate("window.stayed = true")  # gone if the page were reloaded

    pushed = await json_of(
        await push(q.trio.hotline, ticket(
            address="沿江街道滨江社区12栋2单元1201", content="楼道灯坏了",
            received_at=datetime.now(CST).isoformat(),
        )),
        201,
    )  # fmt: skip
    assert pushed["grid_id"] == tree.grid
    # the cases service opens the ticket's case in the grid: the grid's list shows it too
    await expect(grid.locator("tr[data-case]")).to_have_count(1, timeout=WAIT_MS)
    for page in (overview, grid):
        await expect(page.locator(tickets)).to_have_attribute(
            "data-value", str(before[page] + 1), timeout=WAIT_MS
        )
        assert await page.evaluate("window.stayed === true")
    await charts_drawn(overview)
    await screenshot(overview, "overview-live")


async def test_a_department_sees_only_its_own_feed(seeded: Seeded) -> None:
    q, base = seeded.q, seeded.base
    page = await seeded.signed_in("department:civil_affairs", SUBDISTRICT, "mz-1")
    await expect(page).to_have_url(f"{base}/feed/civil_affairs")
    tagged = page.locator("tr[data-fact='person_tagged']")
    await expect(tagged).to_have_count(1, timeout=WAIT_MS)  # the live page catches up
    await expect(tagged).to_contain_text("王**")
    await expect(tagged).to_contain_text("独居老人")
    assert NAME not in await page.content()
    await accessible(page)
    await screenshot(page, "feed")
    for other in (
        "/feed/justice",
        f"/overview/{SUBDISTRICT}",
        f"/grid/{q.trio.tree.grid_code}",
    ):
        answer = await page.goto(other)
        assert answer is not None and answer.status == 403, other


async def test_a_ticket_no_grid_was_found_for_waits_in_triage_with_its_lineage(
    quintet: Quintet, browser: Browser
) -> None:
    q = quintet
    pushed = await json_of(
        await push(q.trio.hotline, ticket(
            address="某市某区无名路99号", content="路灯不亮",
            received_at=datetime.now(CST).isoformat(),
        )),
        201,
    )  # fmt: skip
    assert pushed["grid_id"] is None
    async with served(q.views.app) as base:
        page = await signed_in(browser, base, "subdistrict_admin", SUBDISTRICT, "admin")
        await page.goto("/triage-queue")
        row = page.locator(f"tr[data-ticket='{pushed['ticket_id']}']")
        await expect(row).to_have_count(1, timeout=WAIT_MS)
        await accessible(page)
        await screenshot(page, "triage")
        await row.get_by_role("link").click()
        await expect(page.locator("li[data-step='TicketAwaitingTriage']")).to_have_count(1)
        await expect(page.locator("li[data-step='TicketReceived']")).to_contain_text("受理")
        await accessible(page)
        await screenshot(page, "matter")
        worker = await signed_in(browser, base, "grid_worker", q.trio.tree.grid_code, WORKER)
        answer = await worker.goto("/triage-queue")  # no grid yet: the deployment's admins' alone
        assert answer is not None and answer.status == 403
