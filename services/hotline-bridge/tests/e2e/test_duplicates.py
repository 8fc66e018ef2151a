"""Repeats: a ticket about an open one is linked to it; repeated complaints raise a notice."""

from __future__ import annotations

import uuid

from wangge.governance.addresses import normalise_address
from wangge.hotline_bridge.domain.tickets import (
    RepeatedComplaintsNoticed,
    TicketLinkedAsDuplicate,
    hotspot_stream,
    stream_id,
    ticket_id,
)

from hotline_support import Hotline, push, ticket

ADDRESS = "沿江街道滨江社区3栋2单元402室"


async def test_a_second_complaint_about_an_open_ticket_is_linked_to_it(hotline: Hotline) -> None:
    first = (await push(hotline, ticket(address=ADDRESS))).json()
    # the same door written another way, by another caller
    second = (await push(hotline, ticket(address="沿江街道 滨江社区 3幢2单元402"))).json()
    assert first["duplicate_of"] is None
    assert second["duplicate_of"] == first["ticket_id"]
    events = await hotline.store.read_stream(stream_id(uuid.UUID(second["ticket_id"])))
    linked = events[1].data
    assert isinstance(linked, TicketLinkedAsDuplicate)
    assert str(linked.duplicate_of) == first["ticket_id"]
    other_category = (await push(hotline, ticket(address=ADDRESS, category_code="0303"))).json()
    elsewhere = (await push(hotline, ticket(address="沿江街道滨江社区9栋101室"))).json()
    assert other_category["duplicate_of"] is None and elsewhere["duplicate_of"] is None


async def test_the_third_complaint_in_thirty_days_raises_one_notice(hotline: Hotline) -> None:
    numbers = [f"GD-REP-{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    days = ["2026-11-01", "2026-11-10", "2026-11-20", "2026-11-25"]
    for number, day in zip(numbers, days, strict=True):
        body = ticket(ticket_number=number, address=ADDRESS, received_at=f"{day}T09:00:00+08:00")
        assert (await push(hotline, body)).status_code == 201
    _, stream = hotspot_stream(normalise_address(ADDRESS), "0301")
    events = await hotline.store.read_stream(stream)
    assert len(events) == 1  # at the third; the fourth adds to the same case
    notice = events[0].data
    assert isinstance(notice, RepeatedComplaintsNoticed)
    assert notice.ticket_ids == [ticket_id(n) for n in numbers[:3]]
    assert (notice.category, notice.window_days) == ("0301", 30)


async def test_complaints_spread_over_more_than_the_window_raise_none(hotline: Hotline) -> None:
    for day in ("2026-08-01", "2026-09-15", "2026-11-01"):
        body = ticket(address=ADDRESS, received_at=f"{day}T09:00:00+08:00")
        assert (await push(hotline, body)).status_code == 201
    _, stream = hotspot_stream(normalise_address(ADDRESS), "0301")
    assert await hotline.store.read_stream(stream) == []
