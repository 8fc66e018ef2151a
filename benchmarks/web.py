"""The web dashboard in Debian's Chromium: the subdistrict's overview (its figures, the three
rates by month, special groups, hazards, and its 169 grids on the map) for the full synthetic
subdistrict and a year of its events, measured in the browser from the navigation's start to
every chart drawn (the first ECharts ``finished`` of each). Target: under 1 s.

Measured against the service at rest (caught up with the year, its dashboards warmed, as the
subdistrict centre's screen meets it all day), and once before the warming (the first read
after a start computes the subdistrict's dashboard and every grid's). The baseline is the API:
the same two answers (the dashboard and the grids list) fetched as JSON by a client on the same
machine; the ratio says what the page adds to them (HTML, the assets, the drawing).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from playwright.async_api import Page, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeout

from benchmarks.common import Measurement, Settings
from benchmarks.hotline import _percentile, _wait
from benchmarks.report import WEB_OVERVIEW_MS
from benchmarks.views import (
    SUBDISTRICT,
    WARM_LOOK_SECONDS,
    _caught_up,
    _settled,
    _views_process,
    _Year,
)
from wangge.service.devissuer import DevIssuer

LOADS = 15
SHOTS = Path("var/screenshots")
"""Where the pages are photographed (git-ignored; docs/images holds the ones shown)."""
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

_DRAWN = (
    "() => { const all = [...document.querySelectorAll('[data-chart]')];"
    " const drawn = all.length > 0 && all.every(e => e.dataset.drawn === 'true');"
    " return drawn && Math.max(...all.map(e => parseFloat(e.dataset.drawnAt))); }"
)
"""When every chart of the page is drawn, the last one's moment (ms from the navigation's
start), read in one go: a live update may swap the charts for new ones at any time."""


async def _load(page: Page, path: str) -> float:
    """One navigation to ``path``: ms from its start to every chart drawn, as the browser
    clocks it (``performance.now()`` counts from the navigation's start)."""
    answer = await page.goto(path)
    try:
        drawn = await page.wait_for_function(_DRAWN, timeout=60_000)
    except PlaywrightTimeout:
        state = await page.evaluate(
            "() => [...document.querySelectorAll('[data-chart]')].map(e => e.dataset.drawn)"
        )
        status = answer.status if answer is not None else None
        raise AssertionError(f"{path}: {status}, charts drawn {state}") from None
    at: float = await drawn.json_value()
    return at


async def _api(base: str, token: str, path: str) -> float:
    """The overview's two answers fetched as JSON: ms."""
    async with aiohttp.ClientSession(
        base_url=base, headers={"Authorization": f"Bearer {token}"}
    ) as session:
        started = time.perf_counter()
        for url in (f"/subdistricts/{path}/dashboard", f"/subdistricts/{path}/grids"):
            async with session.get(url) as response:
                assert response.status == 200, (url, response.status)
                await response.read()
        return (time.perf_counter() - started) * 1000


async def bench_overview(
    settings: Settings, year: _Year, log: Callable[[str], None]
) -> dict[str, Measurement]:
    """The year's views service on its own: the overview loaded cold (right after the service
    caught up with the year), then LOADS times once it has warmed its dashboards."""
    async with _views_process(settings, year) as (port, process):
        await _wait(lambda: _caught_up(port), "the views service resuming from its offsets")

        async def warmed() -> bool:
            # the warming starts once the rows stood still over two looks; then it runs hot
            await asyncio.sleep(2 * WARM_LOOK_SECONDS + 1)
            return await _settled(process.pid)

        issuer = DevIssuer(year.data_dir / "dev-issuer.pem")
        return await _overview(port, issuer, SUBDISTRICT, warmed, log)


async def _overview(
    port: int,
    issuer: DevIssuer,
    subdistrict: str,
    warmed: Callable[[], Awaitable[bool]],
    log: Callable[[str], None],
) -> dict[str, Measurement]:
    base = f"http://127.0.0.1:{port}"
    token = issuer.issue("bench-admin", roles=["subdistrict_admin"], places=[subdistrict])
    path = f"/overview/{subdistrict}"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = await browser.new_context(
            base_url=base, viewport={"width": 1920, "height": 1080},
            extra_http_headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
        page = await context.new_page()
        cold = await _load(page, path)
        log(f"   overview, first load after the start (computed for it): {cold:.0f} ms")
        await _wait(warmed, "the views service warming its dashboards")
        await _load(page, path)  # the assets in the browser's cache, as on a screen all day
        warm = [await _load(page, path) for _ in range(LOADS)]
        api = [await _api(base, token, subdistrict) for _ in range(LOADS)]
        await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
        await page.screenshot(path=str(SHOTS / "bench-overview.png"))  # docs/images/overview.png
        await page.locator("table.grids tbody tr a").first.click()
        await page.wait_for_function(_DRAWN, timeout=60_000)
        await page.screenshot(path=str(SHOTS / "bench-grid.png"))  # docs/images/grid.png
        await browser.close()
    p50, worst = _percentile(warm, 50), max(warm)
    api50 = _percentile(api, 50)
    log(f"   overview in Chromium, warm: p50 {p50:.0f} ms, worst {worst:.0f} ms of {LOADS} "
        f"(target < {WEB_OVERVIEW_MS:.0f} ms); its two API answers as JSON: p50 {api50:.1f} ms, "
        f"{p50 / api50:.1f}x")  # fmt: skip
    return {
        "web_overview_p50": Measurement(
            "overview: navigation to charts drawn, p50", "ms", [p50], note=f"{p50 / api50:.1f}"
        ),
        "web_overview_worst": Measurement("overview: worst of the loads", "ms", [worst]),
        "web_overview_cold": Measurement("overview: first load after a start", "ms", [cold]),
        "web_overview_api": Measurement("overview's two API answers, p50", "ms", [api50]),
    }
