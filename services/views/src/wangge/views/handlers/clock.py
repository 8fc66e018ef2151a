"""The views' clock (日结): closing each day of the subdistrict once it is over, as a
``DayClosed`` event in the service's own log, so that the department feeds report a care visit
missed when the day passes, not when the plan's next event happens to come.

Every replica runs the clock; a day's stream is written once (version 0), so the replicas that
lose the race get a conflict, which only says the day is closed already.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from wangge.events import ConcurrencyConflict, Metadata
from wangge.events.command import CommandRunner
from wangge.events.store import NO_STREAM, EventStore
from wangge.governance.times import local_day
from wangge.views.domain import clock

if TYPE_CHECKING:
    from wangge.service.app import ServiceState

ACTOR = "system:clock"
"""Who closes the days (the envelope's actor)."""
INTERVAL_SECONDS = 300.0
"""How often the clock looks: a day is closed within minutes of midnight, China Standard Time."""


async def last_closed(store: EventStore, *, yesterday: date) -> date | None:
    """The latest day closed in the look-back ending ``yesterday`` (None: none there). One probe
    per day, from yesterday backwards: on a running service the first one finds it."""
    for back in range(clock.LOOKBACK_DAYS):
        day = yesterday - timedelta(days=back)
        if await store.stream_version(clock.stream_id(day)):
            return day
    return None


async def close_day(commands: CommandRunner, *, day: date) -> bool:
    """Close ``day``; False when it was closed already (by another replica, or before)."""
    try:
        async with commands.unit() as unit:
            await unit.append(
                clock.stream_id(day), [clock.DayClosed(day=day)], expected_version=NO_STREAM
            )
    except ConcurrencyConflict:
        return False
    return True


async def close_days(commands: CommandRunner, *, now: datetime) -> list[date]:
    """Close every day from the last closed one up to yesterday in the subdistrict (only
    yesterday on a fresh deployment); the days this call closed, oldest first."""
    yesterday = local_day(now) - timedelta(days=1)
    last = await last_closed(commands.store, yesterday=yesterday)
    return [
        day
        for day in clock.days_to_close(last_closed=last, yesterday=yesterday)
        if await close_day(commands, day=day)
    ]


async def keep_time(state: ServiceState) -> None:
    """The service's clock worker: closes the days that are over every few minutes, until the
    service stops (an error, e.g. the database gone, restarts it under supervision)."""
    commands = state.core.commands(Metadata(actor=ACTOR))
    while not state.stop.is_set():
        await close_days(commands, now=datetime.now(UTC))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.stop.wait(), timeout=INTERVAL_SECONDS)
