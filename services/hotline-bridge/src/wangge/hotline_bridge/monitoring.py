"""The hotline bridge's own Prometheus metrics, besides the kit's (``wangge.service.metrics``).

The intake and the deliveries are counted as they happen; what waits for a person (overdue
tickets, dead-lettered replies) is counted from the tickets read model when Prometheus scrapes,
so a restart never loses it and the alert rules in deploy/monitoring see the queue as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric

from wangge.events.db import read_only
from wangge.hotline_bridge.bootstrap import HotlineCore
from wangge.hotline_bridge.domain.tickets import Status
from wangge.service.app import ServiceState

RECEIVED = Counter(
    "wangge_hotline_tickets_received",
    "Tickets the hotline pushed and the bridge took in, by where each went (routed, triage, "
    "returned); a push taken in before counts as repeated.",
    ["status"],
)
DELIVERIES = Counter(
    "wangge_hotline_reply_deliveries",
    "Attempts to hand a reply to the hotline's callback, by outcome: delivered, failed (tried "
    "again later), dead_lettered (given up until staff send it again).",
    ["outcome"],
)
REPEATED = "repeated"
OPEN = (Status.RECEIVED, Status.TRIAGE, Status.ROUTED, Status.ACCEPTED, Status.REOPENED)
"""Statuses in which a ticket still waits for the grid's reply, and so can be overdue."""


async def gauges(state: ServiceState) -> Iterable[Metric]:
    """Overdue tickets by status, and replies in the dead letter."""
    core = state.core
    assert isinstance(core, HotlineCore)
    overdue = GaugeMetricFamily(
        "wangge_hotline_tickets_overdue",
        "Tickets past their deadline without the grid's reply, by status (the hotline counts "
        "each against the grid's on-time rate).",
        labels=["status"],
    )
    dead = GaugeMetricFamily(
        "wangge_hotline_replies_dead_lettered",
        "Replies the bridge gave up delivering, waiting for staff to send them again "
        "(POST /tickets/{id}/delivery/retry).",
    )
    async with read_only(core.store.engine) as conn:
        t = (await core.tickets(conn))["tickets"]
        rows = await conn.execute(
            sa.select(t.c.status, sa.func.count())
            .where(t.c.status.in_([s.value for s in OPEN]), t.c.deadline < datetime.now(UTC))
            .group_by(t.c.status)
        )
        late: dict[str, int] = {row[0]: row[1] for row in rows}
        letters = await conn.scalar(
            sa.select(sa.func.count()).where(t.c.delivery_status == "dead_letter")
        )
    for status in OPEN:
        overdue.add_metric([status.value], late.get(status.value, 0))
    dead.add_metric([], letters or 0)
    return [overdue, dead]
