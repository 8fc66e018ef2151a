"""Warming today's dashboards: every area rendered once for the rows as they stand, the same
bytes a read computes, and nothing rendered for rows that have moved on."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import TYPE_CHECKING, NoReturn, cast

import pytest

from wangge.views.api import areas, warming
from wangge.views.api.areas import grids_of
from wangge.views.api.dashboard import rendered, today
from wangge.views.api.warming import warm
from wangge.views.bootstrap import ViewsCore
from wangge.views.domain.figures import CST
from wangge.views.projections.dashboard_queries import applied_state

from views_support import Tree, Upstream, plant_tree, push_ticket

if TYPE_CHECKING:
    from wangge.service.app import ServiceState


async def _state(core: ViewsCore) -> object:
    async with core.store.engine.connect() as conn:
        return await applied_state(conn)


async def _read(core: ViewsCore, kind: str, code: str) -> tuple[bytes, float | None]:
    async with core.store.engine.connect() as conn:
        return await rendered(conn, core, kind, code, today())


async def _push_ticket(upstream: Upstream, grid: uuid.UUID) -> None:
    await push_ticket(upstream, grid, received=datetime.now(CST) - timedelta(minutes=1))


def _areas(tree: Tree) -> list[tuple[str, str]]:
    return [
        ("subdistrict", tree.subdistrict_code),
        ("community", tree.community_code),
        ("grid", tree.grid_code),
        ("grid", tree.other_grid_code),
    ]


async def _computed_again(*_: object, **__: object) -> NoReturn:
    raise AssertionError("a grid's figures computed again after the warm pass")


async def test_a_warm_pass_renders_every_area_once_and_reads_then_compute_nothing(
    views: tuple[Upstream, ViewsCore], monkeypatch: pytest.MonkeyPatch
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    await _push_ticket(upstream, tree.grid)
    await core.catch_up(upstream=upstream.stores)
    day, state = today(), await _state(core)

    assert await warm(core.store.engine, core, day=day, state=state) == 4
    assert await warm(core.store.engine, core, day=day, state=state) == 0
    for kind, code in _areas(tree):
        body, took = await _read(core, kind, code)
        assert took is None, f"{kind} {code} computed again after the warm pass"
        assert f'"code":"{code}"'.encode() in body
    # the roll-ups' grids lists are kept too: read now, none computes a grid's figures again
    monkeypatch.setattr(areas, "monthly", _computed_again)
    async with core.store.engine.connect() as conn:
        for kind, code in _areas(tree):
            if kind != "grid":
                listed = json.loads(await grids_of(conn, core, kind, code, day))
                assert tree.grid_code in [g["code"] for g in listed["grids"]]


async def test_a_warm_pass_stops_when_the_rows_move_and_reads_compute_the_new_rows(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    await core.catch_up(upstream=upstream.stores)
    before = await _state(core)
    await _push_ticket(upstream, tree.grid)
    await core.catch_up(upstream=upstream.stores)

    assert await warm(core.store.engine, core, day=today(), state=before) is None
    body, took = await _read(core, "grid", tree.grid_code)
    assert took is not None
    assert b'"tickets":1' in body


class _Warmed(logging.Handler):
    """Sets its event when the warming worker says it finished a pass."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "dashboards warm" in record.getMessage():
            self.seen.set()


async def test_the_worker_warms_once_the_rows_stand_still(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    await core.catch_up(upstream=upstream.stores)
    stop = asyncio.Event()
    state = cast("ServiceState", SimpleNamespace(core=core, engine=core.store.engine, stop=stop))
    handler, logger = _Warmed(), logging.getLogger(warming.__name__)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    worker = asyncio.create_task(warming.keep_warm(state, interval=0.05))
    try:
        await asyncio.wait_for(handler.seen.wait(), timeout=10)
    finally:
        stop.set()
        await worker
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    for kind, code in _areas(tree):
        assert (await _read(core, kind, code))[1] is None, f"{kind} {code} was not warmed"
