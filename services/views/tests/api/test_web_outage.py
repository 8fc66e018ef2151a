"""The web dashboard's pages when the database is out of reach: a page saying so, a 503 with
``Retry-After`` as the API's, never the API's problem JSON shown in the browser; and the roles
a page names, a department's by its title in the feeds' catalogue."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wangge.events.db import create_engine
from wangge.service.problems import OUTAGE_RETRY_AFTER, PROBLEM_JSON
from wangge.service.testing import Running, started
from wangge.views.app import MIGRATIONS, build_app
from wangge.views.config import ViewsSettings

from views_support import settings_for

SUBDISTRICT = "320111001"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Running[ViewsSettings]]:
    async with started(settings_for("sqlite", tmp_path, None), build_app, MIGRATIONS) as running:
        yield running


async def test_a_page_whose_database_is_out_of_reach_is_a_503_page_that_says_when_to_retry(
    service: Running[ViewsSettings],
) -> None:
    admin = service.as_("subdistrict_admin", places=[SUBDISTRICT])
    state = service.state
    kept = state.engine
    # the server goes away: every new connection is refused, as while it restarts
    gone = create_engine(f"postgresql+asyncpg://wangge:wangge@127.0.0.1:{_closed_port()}/wangge")
    state.engine = gone
    try:
        page = await service.client.get(f"/overview/{SUBDISTRICT}", headers=admin)
        api = await service.client.get(f"/subdistricts/{SUBDISTRICT}/dashboard", headers=admin)
    finally:
        state.engine = kept
        await gone.dispose()
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["Retry-After"] == str(OUTAGE_RETRY_AFTER)
    assert 'data-testid="problem"' in page.text and "服务暂时不可用" in page.text
    assert "Traceback" not in page.text
    # the API answers as it always has: its problem JSON
    assert api.status_code == 503
    assert api.headers["content-type"] == PROBLEM_JSON
    assert api.headers["Retry-After"] == str(OUTAGE_RETRY_AFTER)


async def test_a_department_is_named_by_its_title_in_the_feeds_catalogue(
    service: Running[ViewsSettings],
) -> None:
    signin = await service.client.get("/signin")
    assert signin.status_code == 200
    assert "民政（department:civil_affairs）" in signin.text
    assert "网格员（grid_worker）" in signin.text
