"""The hotline bridge's background work: delivering replies, and the sweep that raises
reminders (催办) and retries triage.

Both run in every server process and take a lock first, so one process at a time does the work
(the others wait their turn, as the relay does). Every outcome is an event on the ticket's
stream; the ``hotline_tickets`` read model is both the work queue and its record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from wangge.events import Metadata
from wangge.events.db import read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.governance.times import stored
from wangge.hotline_bridge.adapters import ADAPTERS
from wangge.hotline_bridge.bootstrap import HotlineCore
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.routing import Match
from wangge.hotline_bridge.domain.tickets import Status
from wangge.hotline_bridge.handlers import tickets as handle
from wangge.hotline_bridge.monitoring import DELIVERIES
from wangge.hotline_bridge.personal_data import opened
from wangge.hotline_bridge.projections.grid_map import find_grid
from wangge.hotline_bridge.projections.tickets import due_replies, to_remind, triage_places
from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, sign
from wangge.service.app import ServiceState

log = logging.getLogger(__name__)
WORKER = Metadata(actor="system:hotline-bridge")


def backoff(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Seconds before the attempt after ``attempt`` failures: exponential with full jitter.

    A uniform draw up to ``base * 2**(attempt-1)`` (at most ``cap``), so a hotline that comes
    back after an outage is not met by every waiting reply at the same instant.
    """
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return (rng or random).uniform(0, ceiling)


def _core(state: ServiceState) -> HotlineCore:
    core = state.core
    if not isinstance(core, HotlineCore):
        raise TypeError(f"the service's core is a {type(core).__name__}, not a HotlineCore")
    return core


class ReplyDelivery:
    """Hands replies to the hotline's callback until each is taken, at least once.

    Each delivery carries its ``delivery_id`` as ``Idempotency-Key`` (and in the body), the same
    on every retry, so the hotline keeps one reply however many times it arrives: exactly once in
    effect. A reply that fails ``delivery_max_attempts`` times is dead-lettered; staff send it
    again with ``POST /tickets/{id}/delivery/retry``.
    """

    def __init__(self, state: ServiceState, client: httpx.AsyncClient) -> None:
        self.state = state
        self.core = _core(state)
        self.settings = self.core.settings
        self.client = client
        self.rng = random.Random()
        self.keys = self.core.keyring

    async def run(self) -> None:
        """Deliver due replies until the service stops (nothing to do without a callback)."""
        stop = self.state.stop
        if self.settings.callback_url is None:
            log.info("no WANGGE_CALLBACK_URL: replies wait as pending")
            await stop.wait()  # idle, not stopped: /readyz counts a finished worker as failed
            return
        async with self.core.store.exclusive("hotline:reply-delivery"):
            while not stop.is_set():
                if not await self.deliver_due():
                    await _sleep(stop, self.settings.delivery_poll_seconds)

    async def deliver_due(self, limit: int = 50) -> int:
        """Try every reply whose next attempt is due; returns how many were tried."""
        now = datetime.now(UTC)
        async with read_only(self.core.store.engine) as conn:
            rows = await due_replies(conn, await self.core.tickets(conn), now, limit)
        for row in rows:
            await self._deliver(row)
        return len(rows)

    async def _deliver(self, row: Any) -> None:
        assert self.settings.callback_url is not None
        adapter = ADAPTERS[self.settings.hotline_format]
        reply = tickets.ReplyOut(
            ticket_number=row.ticket_number, reply=await self._text(row), solved=row.solved,
            at_source=row.at_source, replied_at=stored(row.replied_at),
            delivery_id=row.delivery_id,
        )  # fmt: skip
        body = adapter.write_reply(reply)
        sent = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": str(row.delivery_id),
            TIMESTAMP: str(sent),
            SIGNATURE: sign(self.settings.signing_secret(), sent, body),
        }
        attempt = row.delivery_attempts + 1
        error: str | None = None
        try:
            response = await self.client.post(
                self.settings.callback_url, content=body, headers=headers
            )
            if not response.is_success:
                error = f"HTTP {response.status_code}: {response.text[:200]}"
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        later = None
        if error is not None and attempt < self.settings.delivery_max_attempts:
            wait = backoff(
                attempt, base=self.settings.delivery_base_seconds,
                cap=self.settings.delivery_cap_seconds, rng=self.rng,
            )  # fmt: skip
            later = datetime.now(UTC) + timedelta(seconds=wait)

        if error is not None:
            log.warning("reply %s attempt %s failed: %s", row.delivery_id, attempt, error)
        outcome = "delivered" if error is None else "failed" if later else "dead_lettered"
        DELIVERIES.labels(outcome).inc()
        # the ticket may have moved meanwhile (reopened, retried): the next round sees it
        with contextlib.suppress(ConcurrencyConflict):
            await handle.record_delivery(
                self.core.commands(WORKER), row.ticket_id,
                attempt=attempt, error=error, next_attempt_at=later,
            )  # fmt: skip

    async def _text(self, row: Any) -> str:
        """The reply in full, opened with the ticket's data key; its redacted copy once the
        caller was erased (the hotline is then sent no more than anyone may read)."""
        async with read_only(self.core.store.engine) as conn:
            key = await self.keys.key(conn, row.ticket_id)
        text = opened(key, row.sealed_reply, "reply")
        if text is not None:
            return text
        if row.sealed_reply is None and key is not None:
            # a reply recorded before replies were sealed has its full text in its event only
            stream = tickets.stream_id(row.ticket_id)
            for event in reversed(await self.core.store.read_stream(stream)):
                data = event.data
                if isinstance(data, tickets.TicketReplied) and data.delivery_id == row.delivery_id:
                    return data.reply
        reply: str = row.reply
        return reply


class Sweeper:
    """Raises reminders on tickets near or past their deadline, and routes triage tickets the
    grid map can now place (the registry's places may have arrived after the ticket)."""

    def __init__(self, state: ServiceState) -> None:
        self.state = state
        self.core = _core(state)
        self.settings = self.core.settings

    async def run(self) -> None:
        stop = self.state.stop
        async with self.core.store.exclusive("hotline:sweeper"):
            while not stop.is_set():
                await self.sweep()
                await _sleep(stop, self.settings.sweep_seconds)

    async def sweep(self, now: datetime | None = None) -> int:
        """One pass; returns how many tickets it changed."""
        now = now or datetime.now(UTC)
        due_soon = timedelta(hours=self.settings.due_soon_hours)
        handling = [s.value for s in (*tickets.HANDLING, Status.TRIAGE)]
        commands = self.core.commands(WORKER)
        async with read_only(self.core.store.engine) as conn:
            tables = await self.core.tickets(conn)
            late = await to_remind(conn, tables, handling, now=now, due_soon=due_soon)
            waiting = await triage_places(conn, tables)
            found = {}
            grid_map = await self.core.grid_map(conn)
            for row in waiting:
                location = (
                    tickets.Location(longitude=row.longitude, latitude=row.latitude)
                    if row.longitude is not None and row.latitude is not None
                    else None
                )
                match = await find_grid(conn, grid_map, address=row.address, location=location)
                if isinstance(match, Match):
                    found[row.ticket_id] = match
        changed = 0
        for ticket_id in late:
            with contextlib.suppress(ConcurrencyConflict):  # moved meanwhile: the next pass
                changed += await handle.remind(commands, ticket_id, now=now, due_soon=due_soon)
        for ticket_id, match in found.items():
            try:
                await handle.route_found(commands, ticket_id, match)
                changed += 1
            except (ConcurrencyConflict, tickets.WrongStatus):
                pass  # staff routed or returned it meanwhile
        return changed


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def deliver_replies(state: ServiceState) -> None:
    """The delivery worker, as the service kit starts it."""
    timeout = _core(state).settings.delivery_timeout_seconds
    async with httpx.AsyncClient(timeout=timeout) as client:
        await ReplyDelivery(state, client).run()


async def sweep(state: ServiceState) -> None:
    """The sweeper, as the service kit starts it."""
    await Sweeper(state).run()
