"""Seeding a year of training when the service starts in development (``WANGGE_SEED=year``, as
``make run`` does): once the roster has followed the registry's seeded workers, the year from
:mod:`wangge.training.synthetic` is appended, once. The year's ids follow from the seed and the
workers, so a restart finds its first stream taken and appends nothing again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, date, datetime

from wangge.events import Metadata
from wangge.events.db import read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.governance.times import local_day
from wangge.service.app import ServiceState
from wangge.training.config import TrainingSettings
from wangge.training.projections.roster_queries import first_appointed, roster_tables, staying_ids
from wangge.training.synthetic import year_of_training

log = logging.getLogger(__name__)
SETTLED_POLLS = 3
"""The roster is taken as complete when this many polls a second apart find it unchanged."""


async def seed_year(state: ServiceState) -> None:
    """The seeding worker (a no-op unless the settings ask for it); then idles until stop."""
    settings = state.settings
    assert isinstance(settings, TrainingSettings)
    if settings.seed == "year":
        workers = await _settled_roster(state)
        if workers:
            await _append_year(state, workers, since=await _first_appointed(state))
    await state.stop.wait()


async def _settled_roster(state: ServiceState) -> list[uuid.UUID]:
    seen: list[uuid.UUID] = []
    same = 0
    while not state.stop.is_set() and same < SETTLED_POLLS:
        async with read_only(state.core.store.engine) as conn:
            found = await staying_ids(conn, await roster_tables(conn, state.core))
        same = same + 1 if found and found == seen else 0
        seen = found
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.stop.wait(), timeout=1)
    return seen


async def _first_appointed(state: ServiceState) -> date | None:
    """The earliest appointment on the roster: the seeded year starts no earlier (coverage
    counts the workers on the roster on a session's day)."""
    async with read_only(state.core.store.engine) as conn:
        return await first_appointed(conn, await roster_tables(conn, state.core))


async def _append_year(
    state: ServiceState, workers: list[uuid.UUID], *, since: date | None = None
) -> None:
    appends = year_of_training(workers, ends_on=local_day(datetime.now(UTC)), starts_on=since)
    # the year's streams are decided by the domain already (synthetic); they start in one
    # transaction, so a restart finds the first one taken and appends nothing again
    commands = state.core.commands(Metadata(actor="system:seed"))
    try:
        async with commands.unit() as unit:
            for append in appends:
                await unit.append(append.stream_id, append.events, expected_version=0)
    except ConcurrencyConflict:
        log.info("the training year is seeded already")
        return
    events = sum(len(a.events) for a in appends)
    log.info("seeded a year of training: %s streams, %s events", len(appends), events)
