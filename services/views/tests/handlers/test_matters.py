"""The lineage of a matter: a 12345 ticket, the case it became, mediation, the reply, the 回访
rating and the reopening, in order across services from their correlation and causation ids;
found by a ticket or a case; a case opened from a need is the need's matter; read only by staff
of the matter's places; and a rebuild leaves the rows an increment did."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from wangge.events import IntegrationEvent
from wangge.governance.errors import NotFound
from wangge.service.auth import Principal
from wangge.views.api.matters import MatterQuery, matter, matter_of
from wangge.views.bootstrap import ViewsCore
from wangge.views.consumed import cases, hotline, registry

from views_support import Tree, Upstream, plant_tree, rebuilt_rows, rows_of

HOTLINE, SYSTEM, WORKER = "hotline-12345", "system:cases", "worker-zhang"


class Chain:
    """Appends a matter's events, each naming the cause given by its type."""

    def __init__(self, upstream: Upstream, correlation: str) -> None:
        self.upstream = upstream
        self.correlation = correlation
        self.ids: dict[str, str] = {}

    async def add(
        self, service: str, stream: str, *events: IntegrationEvent, actor: str,
        cause: str | None = None,
    ) -> None:  # fmt: skip
        await self.upstream.append(
            service, stream, *events, correlation_id=self.correlation,
            causation_id=self.ids[cause] if cause else None, actor=actor,
        )  # fmt: skip
        for e in await self.upstream.stores[service].read_stream(stream):
            self.ids.setdefault(type(e.data).__name__, str(e.envelope.id))


def _caller(*roles: str, places: tuple[str, ...] = ()) -> Principal:
    return Principal("someone", frozenset(roles), frozenset(places))


async def _ticket_matter(upstream: Upstream, tree: Tree) -> tuple[Chain, uuid.UUID, uuid.UUID]:
    ticket, case = uuid.uuid4(), uuid.uuid4()
    chain = Chain(upstream, f"m-{uuid.uuid4()}")
    t, c = f"ticket-{ticket}", f"case-{case}"
    received = datetime(2026, 3, 2, 9, tzinfo=UTC)
    await chain.add(
        "hotline_bridge", t,
        hotline.TicketReceived(
            ticket_id=ticket, ticket_number="2026030200001", channel="phone",
            received_at=received, category="noise", category_name="噪声扰民", kind="complaint",
            content="楼上装修噪声", address="滨江社区12栋1201", urgency="normal",
            deadline=received + timedelta(days=5), deadline_source="hotline",
            push_fingerprint="f" * 64,
        ),
        hotline.TicketRoutedToGrid(ticket_id=ticket, grid_id=tree.grid, method="address",
                                   place_id=tree.dwelling, detail="12栋1201"),
        actor=HOTLINE,
    )  # fmt: skip
    await chain.add(
        "cases", c,
        cases.CaseOpened(case_id=case, kind="complaint", source="hotline", title="装修噪声",
                         grid_id=tree.grid, ticket_id=ticket),
        cases.CaseAssigned(case_id=case, worker_id=tree.worker, account=WORKER, reason="grid"),
        actor=SYSTEM, cause="TicketRoutedToGrid",
    )  # fmt: skip
    await chain.add("cases", c, cases.CaseAccepted(case_id=case, account=WORKER), actor=WORKER)
    await chain.add(
        "hotline_bridge", t, hotline.TicketAccepted(ticket_id=ticket, grid_id=tree.grid),
        actor="system:hotline-bridge", cause="CaseAccepted",
    )  # fmt: skip
    party = uuid.uuid4()
    await chain.add(
        "cases", c,
        cases.MediationSessionHeld(case_id=case, session_id=uuid.uuid4(), held_at=received,
                                   place="调解室", attendees=[party], mediators=["调解员甲"],
                                   summary="双方同意", signed_by=[party]),
        actor=WORKER,
    )  # fmt: skip
    await chain.add(
        "cases", c, cases.CaseResolved(case_id=case, resolution="已调解", solved=True,
                                       at_source=True),
        actor=WORKER,
    )  # fmt: skip
    await chain.add(
        "hotline_bridge", t,
        hotline.TicketReplied(ticket_id=ticket, reply="已调解", solved=True, at_source=True,
                              delivery_id=uuid.uuid4()),
        actor="system:hotline-bridge", cause="CaseResolved",
    )  # fmt: skip
    await chain.add(
        "hotline_bridge", t,
        hotline.TicketFollowedUp(ticket_id=ticket, satisfaction="unsatisfied", resolved=False),
        hotline.TicketReopened(ticket_id=ticket, reason="仍有噪声",
                               deadline=received + timedelta(days=9)),
        actor=HOTLINE,
    )  # fmt: skip
    await chain.add(
        "cases", c, cases.CaseReopened(case_id=case, reason="仍有噪声"),
        actor=SYSTEM, cause="TicketReopened",
    )  # fmt: skip
    return chain, ticket, case


ORDER = [
    "TicketReceived", "TicketRoutedToGrid", "CaseOpened", "CaseAssigned", "CaseAccepted",
    "TicketAccepted", "MediationSessionHeld", "CaseResolved", "TicketReplied",
    "TicketFollowedUp", "TicketReopened", "CaseReopened",
]  # fmt: skip


async def test_a_ticket_s_matter_is_every_step_across_services_in_order(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    chain, ticket, case = await _ticket_matter(upstream, tree)
    await core.catch_up(upstream=upstream.stores)
    worker = _caller("grid_worker", places=(tree.grid_code,))
    read = await matter(chain.correlation, worker, core)
    assert read.correlation_id == chain.correlation
    assert [s.type for s in read.steps] == ORDER
    assert (read.ticket_ids, read.case_ids) == ([ticket], [case])
    steps = {s.type: s for s in read.steps}
    assert steps["TicketReceived"].label_zh == "受理"
    assert steps["TicketReceived"].service == "hotline-bridge"
    assert steps["TicketReceived"].stream_id == f"ticket-{ticket}"
    assert steps["CaseOpened"].causation_id == chain.ids["TicketRoutedToGrid"]
    assert steps["CaseOpened"].cause_in_matter
    assert steps["TicketReplied"].causation_id == chain.ids["CaseResolved"]
    assert not steps["CaseAccepted"].cause_in_matter  # a person's step: no cause
    kinds = {s.type: s.actor_kind for s in read.steps}
    assert kinds["TicketReceived"] == kinds["TicketRoutedToGrid"] == "hotline"
    assert kinds["TicketReopened"] == "hotline"
    assert (kinds["CaseOpened"], kinds["CaseAccepted"]) == ("system", "person")
    # never who acted, never the free text
    dumped = read.model_dump_json()
    assert WORKER not in dumped and "装修" not in dumped and "已调解" not in dumped


async def test_a_ticket_or_a_case_answers_its_matter(views: tuple[Upstream, ViewsCore]) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    chain, ticket, case = await _ticket_matter(upstream, tree)
    await core.catch_up(upstream=upstream.stores)
    admin = _caller("subdistrict_admin", places=(tree.subdistrict_code,))
    by_ticket = await matter_of(admin, core, ticket_id=ticket)
    by_case = await matter_of(admin, core, case_id=case)
    assert by_ticket.correlation_id == by_case.correlation_id == chain.correlation
    assert by_ticket == by_case
    with pytest.raises(NotFound):
        await matter_of(admin, core, ticket_id=uuid.uuid4())
    for neither_or_both in ({}, {"ticket_id": ticket, "case_id": case}):
        with pytest.raises(MatterQuery):
            await matter_of(admin, core, **neither_or_both)


async def test_a_matter_outside_the_caller_s_places_is_not_found(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    chain, _, _ = await _ticket_matter(upstream, tree)
    await core.catch_up(upstream=upstream.stores)
    for caller in (
        _caller("grid_worker", places=(tree.other_grid_code,)),
        _caller("community_staff", places=("320111001-009",)),
    ):
        with pytest.raises(NotFound):
            await matter(chain.correlation, caller, core)
    community = _caller("community_staff", places=(tree.community_code,))
    assert (await matter(chain.correlation, community, core)).steps
    with pytest.raises(NotFound):
        await matter(f"m-{uuid.uuid4()}", community, core)


async def test_a_ticket_no_grid_took_is_the_subdistrict_admins(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    ticket, correlation = uuid.uuid4(), f"m-{uuid.uuid4()}"
    received = datetime(2026, 3, 2, 9, tzinfo=UTC)
    await upstream.append(
        "hotline_bridge", f"ticket-{ticket}",
        hotline.TicketReceived(
            ticket_id=ticket, ticket_number="2026030200002", channel="web",
            received_at=received, category="noise", category_name="噪声扰民", kind="complaint",
            content="?", address="不详", urgency="normal", deadline=received,
            deadline_source="hotline", push_fingerprint="e" * 64,
        ),
        hotline.TicketAwaitingTriage(ticket_id=ticket, reasons=["no address match"]),
        correlation_id=correlation,
    )  # fmt: skip
    await core.catch_up(upstream=upstream.stores)
    with pytest.raises(NotFound):
        await matter(correlation, _caller("community_staff", places=(tree.community_code,)), core)
    admin = _caller("subdistrict_admin", places=(tree.subdistrict_code,))
    assert [s.type for s in (await matter(correlation, admin, core)).steps] == [
        "TicketReceived", "TicketAwaitingTriage",
    ]  # fmt: skip


async def test_a_case_opened_from_a_need_is_the_need_s_matter(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    visit, need, case = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    noted, opened = f"v-{uuid.uuid4()}", f"c-{uuid.uuid4()}"
    # the case first: over Kafka the cases topic may be read before the registry's
    await upstream.append(
        "cases", f"case-{case}",
        cases.CaseOpened(case_id=case, kind="assistance", source="visit", title="需求",
                         grid_id=tree.grid, need_id=need),
        correlation_id=opened, actor="staff-li",
    )  # fmt: skip
    await core.catch_up(upstream=upstream.stores)
    await upstream.append(
        "registry", f"visit-{visit}",
        registry.NeedNoted(visit_id=visit, need_id=need, dwelling_id=tree.dwelling,
                           category="elderly_care", description="需要每周量血压"),
        correlation_id=noted, actor=WORKER,
    )  # fmt: skip
    await core.catch_up(upstream=upstream.stores)
    worker = _caller("grid_worker", places=(tree.grid_code,))
    for asked in (noted, opened):
        read = await matter(asked, worker, core)
        assert read.correlation_id == noted
        assert [s.type for s in read.steps] == ["CaseOpened", "NeedNoted"]  # as recorded
    assert (await matter_of(worker, core, case_id=case)).correlation_id == noted


async def test_a_rebuild_leaves_the_rows_an_increment_did(
    views: tuple[Upstream, ViewsCore], tmp_path: Path
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    chain, _, _ = await _ticket_matter(upstream, tree)
    await core.catch_up(upstream=upstream.stores)  # one matter, then another on top
    await _ticket_matter(upstream, tree)
    await core.catch_up(upstream=upstream.stores)
    assert chain.ids
    rebuilt = await rebuilt_rows(tmp_path, upstream, ["views_matters"])
    assert rebuilt["views_matters"] == await rows_of(core, "views_matters")
