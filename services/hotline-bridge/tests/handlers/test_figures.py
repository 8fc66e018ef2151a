"""A ticket counts in the month it was received in China Standard Time, on either store: one
received at 03:00 on the 1st (19:00 UTC the day before) is the new month's, not the old one's."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from core_support import Bridge, intake

from wangge.hotline_bridge.projections.figures import monthly

CST = timezone(timedelta(hours=8))


async def test_a_ticket_counts_in_its_month_in_china_standard_time(bridge: Bridge) -> None:
    await bridge.push(intake(received_at=datetime(2026, 12, 1, 3, tzinfo=CST), fingerprint="a"))
    await bridge.push(intake(received_at=datetime(2026, 11, 30, 23, tzinfo=CST), fingerprint="b"))
    core = bridge.core
    async with core.store.engine.connect() as conn:
        tickets, grid_map = (await core.tickets(conn))["tickets"], await core.grid_map(conn)
        assert grid_map is not None
        counted = {
            month: {a.area_id: a.figures.tickets for a in await monthly(
                conn, tickets, grid_map, month=month, level="grid")}
            for month in ("2026-11", "2026-12")
        }  # fmt: skip
    assert counted == {"2026-11": {bridge.grid_id: 1}, "2026-12": {bridge.grid_id: 1}}
