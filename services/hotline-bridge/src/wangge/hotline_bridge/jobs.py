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
import sqlalchemy as sa

from wangge.events import DomainEvent, Metadata
from wangge.events.db import read_only
from wangge.events.errors import ConcurrencyConflict
from wangge.events.projection import active_tables
from wangge.governance.times import stored
from wangge.hotline_bridge.adapters import ADAPTERS
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.routing import Match
from wangge.hotline_bridge.domain.tickets import Status
from wangge.hotline_bridge.intake import dispatch, grid_map
from wangge.hotline_bridge.personal_data import keyring, opened
from wangge.hotline_bridge.projections.grid_map import find_grid
from wangge.hotline_bridge.projections.tickets import Tickets
from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, sign
from wangge.hotline_bridge.ticket_commands import act
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


def _settings(state: ServiceState) -> HotlineSettings:
    settings = state.settings
    assert isinstance(settings, HotlineSettings)
    return settings


async def _tickets_table(state: ServiceState, conn: Any) -> sa.Table:
    return (await active_tables(conn, state.service_projection(Tickets.name)))["tickets"]


class ReplyDelivery:
    """Hands replies to the hotline's callback until each is taken, at least once.

    Each delivery carries its ``delivery_id`` as ``Idempotency-Key`` (and in the body), the same
    on every retry, so the hotline keeps one reply however many times it arrives: exactly once in
    effect. A reply that fails ``delivery_max_attempts`` times is dead-lettered; staff send it
    again with ``POST /tickets/{id}/delivery/retry``.
    """

    def __init__(self, state: ServiceState, client: httpx.AsyncClient) -> None:
        self.state = state
        self.settings = _settings(state)
        self.client = client
        self.rng = random.Random()
        self.keys = keyring(self.settings.kek())

    async def run(self) -> None:
        """Deliver due replies until the service stops (nothing to do without a callback)."""
        stop = self.state.stop
        if self.settings.callback_url is None:
            log.info("no WANGGE_CALLBACK_URL: replies wait as pending")
            await stop.wait()  # idle, not stopped: /readyz counts a finished worker as failed
            return
        async with self.state.store.exclusive("hotline:reply-delivery"):
            while not stop.is_set():
                if not await self.deliver_due():
                    await _sleep(stop, self.settings.delivery_poll_seconds)

    async def deliver_due(self, limit: int = 50) -> int:
        """Try every reply whose next attempt is due; returns how many were tried."""
        now = datetime.now(UTC)
        async with read_only(self.state.engine) as conn:
            t = await _tickets_table(self.state, conn)
            rows = (
                await conn.execute(
                    sa.select(t)
                    .where(t.c.delivery_status == "pending", t.c.next_attempt_at <= now)
                    .order_by(t.c.next_attempt_at)
                    .limit(limit)
                )
            ).all()
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

        def decide(ticket: tickets.Ticket, _: int) -> list[DomainEvent]:
            if error is None:
                return tickets.delivered(ticket, attempt=attempt)
            return tickets.delivery_failed(
                ticket, attempt=attempt, error=error, next_attempt_at=later
            )

        if error is not None:
            log.warning("reply %s attempt %s failed: %s", row.delivery_id, attempt, error)
        # the ticket may have moved meanwhile (reopened, retried): the next round sees it
        with contextlib.suppress(ConcurrencyConflict):
            await act(self.state, row.ticket_id, decide, metadata=WORKER)

    async def _text(self, row: Any) -> str:
        """The reply in full, opened with the ticket's data key; its redacted copy once the
        caller was erased (the hotline is then sent no more than anyone may read)."""
        async with read_only(self.state.engine) as conn:
            key = await self.keys.key(conn, row.ticket_id)
        text = opened(key, row.sealed_reply, "reply")
        if text is not None:
            return text
        if row.sealed_reply is None and key is not None:
            # a reply recorded before replies were sealed has its full text in its event only
            stream = tickets.stream_id(row.ticket_id)
            for event in reversed(await self.state.store.read_stream(stream)):
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
        self.settings = _settings(state)

    async def run(self) -> None:
        stop = self.state.stop
        async with self.state.store.exclusive("hotline:sweeper"):
            while not stop.is_set():
                await self.sweep()
                await _sleep(stop, self.settings.sweep_seconds)

    async def sweep(self, now: datetime | None = None) -> int:
        """One pass; returns how many tickets it changed."""
        now = now or datetime.now(UTC)
        due_soon = timedelta(hours=self.settings.due_soon_hours)
        handling = [s.value for s in (*tickets.HANDLING, Status.TRIAGE)]
        async with read_only(self.state.engine) as conn:
            t = await _tickets_table(self.state, conn)
            late = (
                (
                    await conn.execute(
                        sa.select(t.c.ticket_id).where(
                            t.c.status.in_(handling),
                            t.c.deadline <= now + due_soon,
                            sa.or_(
                                t.c.reminder.is_(None),
                                sa.and_(t.c.reminder == "due_soon", t.c.deadline <= now),
                            ),
                        )
                    )
                )
                .scalars()
                .all()
            )
            waiting = (
                await conn.execute(
                    sa.select(t.c.ticket_id, t.c.address, t.c.longitude, t.c.latitude).where(
                        t.c.status == Status.TRIAGE
                    )
                )
            ).all()
            found = {}
            tables = await grid_map(conn, self.state)
            for row in waiting:
                location = (
                    tickets.Location(longitude=row.longitude, latitude=row.latitude)
                    if row.longitude is not None and row.latitude is not None
                    else None
                )
                match = await find_grid(conn, tables, address=row.address, location=location)
                if isinstance(match, Match):
                    found[row.ticket_id] = match
        changed = 0
        for ticket_id in late:
            with contextlib.suppress(ConcurrencyConflict):  # moved meanwhile: the next pass
                before = await act(
                    self.state, ticket_id,
                    lambda t, _: tickets.remind(t, now=now, due_soon=due_soon), metadata=WORKER,
                )  # fmt: skip
                changed += bool(tickets.remind(before, now=now, due_soon=due_soon))
        for ticket_id, match in found.items():

            def route(ticket: tickets.Ticket, _: int, match: Match = match) -> list[DomainEvent]:
                return dispatch(ticket, match)

            try:
                await act(self.state, ticket_id, route, metadata=WORKER)
                changed += 1
            except (ConcurrencyConflict, tickets.WrongStatus):
                pass  # staff routed or returned it meanwhile
        return changed


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def deliver_replies(state: ServiceState) -> None:
    """The delivery worker, as the service kit starts it."""
    timeout = _settings(state).delivery_timeout_seconds
    async with httpx.AsyncClient(timeout=timeout) as client:
        await ReplyDelivery(state, client).run()


async def sweep(state: ServiceState) -> None:
    """The sweeper, as the service kit starts it."""
    await Sweeper(state).run()
