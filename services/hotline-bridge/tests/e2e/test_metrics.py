"""The hotline bridge's own metrics through ``/metrics``: the intake counted by where each ticket
went, and the overdue tickets the alert rules watch, counted from the read model."""

from __future__ import annotations

from datetime import UTC, datetime

from wangge.service.testing import sample, scraped

from hotline_support import Hotline, push, ticket

RECEIVED = "wangge_hotline_tickets_received_total"


async def test_the_intake_is_counted_and_an_overdue_ticket_shows(hotline: Hotline) -> None:
    before = await scraped(hotline.client)
    now = datetime.now(UTC).isoformat()
    late = ticket(received_at="2026-01-05T09:30:00+08:00")  # its deadline long gone
    fresh, other = ticket(received_at=now), ticket(received_at=now)
    for body in (late, fresh, other, fresh):  # the last is the second pushed again
        assert (await push(hotline, body)).is_success
    after = await scraped(hotline.client)
    # no registry behind this bridge: no grid found, all three wait in triage
    assert sample(after, RECEIVED, status="triage") - sample(before, RECEIVED, status="triage") == 3
    repeated = sample(after, RECEIVED, status="repeated") - sample(
        before, RECEIVED, status="repeated"
    )
    assert repeated == 1
    assert sample(after, "wangge_hotline_tickets_overdue", status="triage") == 1
    assert sample(after, "wangge_hotline_tickets_overdue", status="routed") == 0
    assert sample(after, "wangge_hotline_replies_dead_lettered") == 0
