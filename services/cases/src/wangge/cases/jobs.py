"""The cases service's background work: the sweep that reminds of agreements whose window for
judicial confirmation (司法确认) closes soon, and records the lapse of those whose window closed.

It runs in every server process and takes a lock first, so one process at a time sweeps; every
outcome is an event on the case's stream, so a sweep that stops half way is finished by the
next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from wangge.cases.bootstrap import CasesCore
from wangge.cases.handlers.cases import sweep_confirmations
from wangge.events import Metadata
from wangge.service.app import ServiceState

log = logging.getLogger(__name__)
SWEEPER = Metadata(actor="system:cases")


async def sweep_once(core: CasesCore, now: datetime | None = None) -> int:
    """One pass; how many cases it changed."""
    return await sweep_confirmations(
        core.commands(SWEEPER), core, now=now or datetime.now(UTC),
        remind_days=core.settings.confirmation_remind_days,
    )  # fmt: skip


async def sweep(state: ServiceState) -> None:
    """The sweeper, as the service kit starts it."""
    core = state.core
    if not isinstance(core, CasesCore):
        raise TypeError(f"the service's core is a {type(core).__name__}, not a CasesCore")
    async with core.store.exclusive("cases:sweeper"):
        while not state.stop.is_set():
            changed = await sweep_once(core)
            if changed:
                log.info("confirmation sweep changed %d cases", changed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.stop.wait(), timeout=core.settings.sweep_seconds)
