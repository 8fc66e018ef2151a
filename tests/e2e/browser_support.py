"""The web dashboard in a real browser: the views app served on a loopback port (uvicorn, in the
test's event loop), Debian's Chromium driven by Playwright (``scripts/dev/browser.sh`` installs
it; Playwright's own browser download is never used), axe-core's accessibility check injected
from the npm lock's copy, and screenshots under ``var/screenshots/``."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "services/views/frontend/node_modules/axe-core/axe.min.js"
SCREENSHOTS = ROOT / "var/screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
"""As root, without a sandbox; no call home (this machine's network is closed to it)."""
WAIT_MS = 30_000
"""How long a page may take to show what the test waits for (events cross services first)."""


def chromium_path() -> str | None:
    """Debian's Chromium (``WANGGE_CHROMIUM`` or on the PATH), if installed."""
    found = os.environ.get("WANGGE_CHROMIUM") or shutil.which("chromium")
    return found if found and Path(found).exists() else None


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the session's browser tests (each test a context of its own).
    Missing, the tests are skipped, unless the run requires every service (``make test``)."""
    path = chromium_path()
    if path is None or not AXE.exists():
        message = "Chromium (scripts/dev/browser.sh) or axe-core (make sync) is not installed"
        if os.environ.get("WANGGE_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


async def signed_in(browser: Browser, base: str, role: str, place: str, name: str) -> Page:
    """A page of a new browser context, signed in through the dev sign-in form."""
    context = await browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    page = await context.new_page()
    await page.goto("/signin")
    await page.select_option("#role", role)
    await page.fill("#place", place)
    await page.fill("#name", name)
    await page.click("form[action='/signin/dev'] button")
    await page.wait_for_load_state("load")
    return page


async def accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it stands."""
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate("axe.run()")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, bad


async def charts_drawn(page: Page) -> None:
    """Wait until every chart of the page has been drawn by ECharts."""
    await page.wait_for_function(
        "() => { const all = document.querySelectorAll('[data-chart]');"
        " return all.length > 0 && [...all].every(e => e.dataset.drawn === 'true'); }",
        timeout=WAIT_MS,
    )


async def screenshot(page: Page, name: str) -> Path:
    """The whole page, under ``var/screenshots`` (git-ignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
