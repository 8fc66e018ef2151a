"""The matters view takes the envelope's ids as upstream recorded them, of any length: a consumer
never refuses a legal upstream event (a refused one would park its stream)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from wangge.events.parking import list_parked
from wangge.service.auth import Principal
from wangge.views.api.matters import matter, matter_of
from wangge.views.bootstrap import ViewsCore
from wangge.views.consumed import cases, hotline

from views_support import Upstream, plant_tree

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("length", [500, 4000])
async def test_a_matter_whose_ids_are_long_is_applied_and_read(
    views: tuple[Upstream, ViewsCore], backend: str, length: int
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    # random characters: PostgreSQL compresses a repetitive value below an index's limit
    correlation = secrets.token_urlsafe(length)[:length]
    cause = secrets.token_urlsafe(length)[:length]
    ticket, case = uuid.uuid4(), uuid.uuid4()
    received = datetime(2026, 3, 2, 9, tzinfo=UTC)
    await upstream.append(
        "hotline_bridge", f"ticket-{ticket}",
        hotline.TicketReceived(
            ticket_id=ticket, ticket_number="2026030200009", channel="phone",
            received_at=received, category="noise", category_name="噪声扰民", kind="complaint",
            content="噪声", address="滨江社区12栋1201", urgency="normal",
            deadline=received + timedelta(days=5), deadline_source="hotline",
            push_fingerprint="c" * 64,
        ),
        hotline.TicketRoutedToGrid(ticket_id=ticket, grid_id=tree.grid, method="address",
                                   place_id=tree.dwelling, detail="12栋1201"),
        correlation_id=correlation, causation_id=cause, actor="hotline-12345",
    )  # fmt: skip
    await upstream.append(
        "cases", f"case-{case}",
        cases.CaseOpened(case_id=case, kind="complaint", source="hotline", title="噪声",
                         grid_id=tree.grid, ticket_id=ticket),
        correlation_id=correlation, causation_id=cause, actor="system:cases",
    )  # fmt: skip
    await core.catch_up(upstream=upstream.stores)
    assert await list_parked(core.store.engine) == []  # no view refused them
    worker = Principal("w", frozenset({"grid_worker"}), frozenset({tree.grid_code}))
    read = await matter(correlation, worker, core)
    assert read.correlation_id == correlation
    assert [s.type for s in read.steps] == ["TicketReceived", "TicketRoutedToGrid", "CaseOpened"]
    assert {s.causation_id for s in read.steps} == {cause}
    assert (await matter_of(worker, core, case_id=case)).correlation_id == correlation
