"""Keeping today's dashboards rendered (预热): every area's answer made before anyone asks, and
each community's and subdistrict's grids list (the web overview's map and table).

A dashboard computed on a read costs a grid about 20 ms and the subdistrict about 2 s, and the
first read of each area after a change pays it (in every server process). The screens of the
subdistrict centre read the roll-ups all day, so this worker renders every area's answer for
today into the process's store of rendered answers (``dashboard_queries.remembered``) once the
dashboard's and the roster's rows have stood still for a while: a read then costs one query.

While events keep arriving the rows change with every batch and a rendered answer is stale as
soon as it is made, so the worker waits for a quiet interval rather than render what nobody will
read; reads then compute on demand as before. A pass stops as soon as the rows move again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import date
from typing import TYPE_CHECKING, Any

from wangge.governance.errors import NotFound
from wangge.views.api.access import ViewNotReady, roster_tables
from wangge.views.api.areas import grids_of
from wangge.views.api.dashboard import rendered, today
from wangge.views.bootstrap import ViewsCore
from wangge.views.projections.dashboard_queries import applied_state, areas

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from wangge.service.app import ServiceState

log = logging.getLogger(__name__)


async def warm(engine: AsyncEngine, core: ViewsCore, *, day: date, state: Any) -> int | None:
    """Render every area's dashboard as of ``day`` that this process does not hold for the rows'
    ``state``; how many it rendered, or None when the rows moved on before it was done. One
    connection per area: no transaction is held across the pass."""
    async with engine.connect() as conn:
        try:
            listed = await areas(conn, (await roster_tables(conn, core))["places"])
        except ViewNotReady:
            return None
    made = 0
    for kind, code in listed:
        async with engine.connect() as conn:
            if await applied_state(conn) != state:
                return None
            with contextlib.suppress(NotFound):  # a place the roster moved meanwhile
                _, took = await rendered(conn, core, kind, code, day)
                made += took is not None
    # then the overview's map and table of each roll-up, from its grids' month figures (kept
    # apart from the rendered answers: the first roll-up's list computes them, the next reuse)
    for kind, code in listed:
        if kind == "grid":
            continue
        async with engine.connect() as conn:
            if await applied_state(conn) != state:
                return None
            with contextlib.suppress(NotFound):
                await grids_of(conn, core, kind, code, day)
    return made


async def keep_warm(state: ServiceState, *, interval: float) -> None:
    """The service's warming worker: every ``interval`` seconds, if the rows have not changed
    since the last look and today's answers were not rendered for them yet, render them. An
    error (the database gone) restarts it under supervision."""
    core = state.core
    assert isinstance(core, ViewsCore)
    seen: tuple[Any, date] | None = None
    warmed: tuple[Any, date] | None = None
    while not state.stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.stop.wait(), timeout=interval)
        if state.stop.is_set():
            return
        async with state.engine.connect() as conn:
            now = (await applied_state(conn), today())
        if now != seen:  # still moving (or the first look): wait for the next
            seen = now
            continue
        if now == warmed:
            continue
        started = time.perf_counter()
        made = await warm(state.engine, core, day=now[1], state=now[0])
        if made is not None:
            warmed = now
            log.info("dashboards warm: %d rendered in %.1f s", made, time.perf_counter() - started)
