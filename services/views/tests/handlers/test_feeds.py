"""The department feeds: below HTTP, the producers' events appended to their stores, the views
caught up, each department's page read with the query the route uses; then the route itself on
the embedded default (who reads which feed, the ETag and its 304, cursor problems, the audit)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from wangge.events import Metadata
from wangge.events.projection import active_tables
from wangge.service.testing import Running, started
from wangge.views.app import MIGRATIONS, build_app
from wangge.views.bootstrap import ViewsCore
from wangge.views.config import ViewsSettings
from wangge.views.consumed import cases, hotline, registry
from wangge.views.domain import audit
from wangge.views.domain.feeds import Cursor, CursorExpired
from wangge.views.handlers.audit import record_read
from wangge.views.handlers.clock import close_day
from wangge.views.personal_data import ERASED
from wangge.views.projections.feeds import Feeds
from wangge.views.projections.feeds_queries import Paged, feed_page
from wangge.views.projections.roster import Roster

from views_support import (
    Tree,
    Upstream,
    comparable,
    plant_tree,
    rebuilt_rows,
    rows_of,
    settings_for,
    upstream_stores,
)

TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)


async def close(core: ViewsCore, day: date) -> None:
    """Close ``day`` on the views' clock (missed care visits are reported when a day closes)."""
    assert await close_day(core.commands(Metadata(actor="system:clock")), day=day)


async def page(
    core: ViewsCore, department: str, *, after: str | None = None, limit: int = 100
) -> Paged:
    feeds = core.projection(Feeds.name)
    assert isinstance(feeds, Feeds)
    async with core.store.engine.connect() as conn:
        places = await active_tables(conn, core.projection(Roster.name))
        return await feed_page(conn, feeds, places, department=department, after=after, limit=limit)


async def facts(core: ViewsCore, department: str) -> list[tuple[Any, ...]]:
    """(fact, detail, person, name, grid) of each entry of a department's feed."""
    listed = (await page(core, department)).page.entries
    return [(e.fact, e.detail, e.person, e.name, e.grid) for e in listed]


@dataclass(frozen=True)
class World:
    tree: Tree
    floating: uuid.UUID
    resident: uuid.UUID
    plan: uuid.UUID
    case: uuid.UUID
    hazard: uuid.UUID
    ticket: uuid.UUID
    other_ticket: uuid.UUID


async def register(upstream: Upstream, dwelling: uuid.UUID, status: str, name: str) -> uuid.UUID:
    person = uuid.uuid4()
    await upstream.append(
        "registry", f"person-{person}",
        registry.PersonRegistered(
            person_id=person, sex="female", birth_year=1950, name_masked=name,
            identity_masked="320111********123X", hukou_type="non_local", residence_status=status,
        ),
        registry.PersonMovedIn(person_id=person, dwelling_id=dwelling, on=date(2026, 1, 5)),
    )  # fmt: skip
    return person


async def tag(upstream: Upstream, person: uuid.UUID, *tags: str) -> None:
    await upstream.append(
        "registry", f"person-{person}",
        *(registry.PersonTagged(person_id=person, tag=t, source="民政局",
                                valid_from=date(2026, 1, 6)) for t in tags),
    )  # fmt: skip


async def ticket(upstream: Upstream, grid: uuid.UUID, category: str) -> uuid.UUID:
    ticket_id = uuid.uuid4()
    received = datetime(2026, 3, 2, 9, tzinfo=UTC)
    await upstream.append(
        "hotline_bridge", f"ticket-{ticket_id}",
        hotline.TicketReceived(
            ticket_id=ticket_id, ticket_number=f"T{ticket_id.hex[:8]}", channel="phone",
            received_at=received, category=category, category_name="环境卫生", kind="complaint",
            content="楼道堆放垃圾，电话13812345678", address="滨江路12号", urgency="normal",
            deadline=received + timedelta(days=5), deadline_source="catalogue",
            caller_name_masked="王*", push_fingerprint=ticket_id.hex,
        ),
        hotline.TicketRoutedToGrid(ticket_id=ticket_id, grid_id=grid, method="address",
                                   detail="地址匹配"),
    )  # fmt: skip
    return ticket_id


async def build(upstream: Upstream) -> World:
    """One of everything: a floating tenant tagged elderly living alone and with a severe
    mental disorder, a resident in community correction who becomes floating, a health-check
    plan with weeks missed (three, once yesterday is closed), a signed mediation agreement, a
    hazard, two tickets."""
    tree = await plant_tree(upstream)
    floating = await register(upstream, tree.dwelling, "floating", "李*")
    await tag(upstream, floating, "elderly_living_alone", "severe_mental_disorder")
    resident = await register(upstream, tree.other_dwelling, "resident", "赵**")
    await tag(upstream, resident, "community_correction")
    await upstream.append(
        "registry", f"person-{resident}",
        registry.PersonResidenceStatusChanged(
            person_id=resident, residence_status="floating", on=date(2026, 2, 1)
        ),
    )  # fmt: skip
    plan = uuid.uuid4()
    await upstream.append(
        "cases", f"careplan-{plan}",
        cases.CarePlanStarted(
            plan_id=plan, resident=str(floating), resident_masked="李*", grid_id=tree.grid,
            kind="health_check", every_days=7, worker_account=tree.worker_account,
            starts_on=TODAY - timedelta(days=23), note="每周测血压",
        ),
    )  # fmt: skip
    case = uuid.uuid4()
    await upstream.append(
        "cases", f"case-{case}",
        cases.CaseOpened(case_id=case, kind="dispute", source="visit", title="邻里漏水纠纷",
                         grid_id=tree.grid),
        cases.MediationAgreementSigned(
            case_id=case, agreement_id=uuid.uuid4(), parties=[uuid.uuid4(), uuid.uuid4()],
            facts="楼上漏水", dispute="赔偿", responsibilities="楼上", terms="赔偿500元",
            performance="一次付清", perform_by=date(2026, 3, 20), signed_on=date(2026, 3, 5),
            mediators=["调解员甲"], confirmation_deadline=date(2026, 4, 4),
        ),
    )  # fmt: skip
    hazard = uuid.uuid4()
    await upstream.append(
        "registry", f"thing-{hazard}",
        registry.ThingRegistered(thing_id=hazard, kind="hazard_point", category="消防通道占用",
                                 name="12栋消防通道", place_id=tree.building, risk_level="high"),
        registry.HazardResolved(thing_id=hazard, on=date(2026, 3, 9), how="清理完毕"),
    )  # fmt: skip
    facility = uuid.uuid4()
    await upstream.append(
        "registry", f"thing-{facility}",
        registry.ThingRegistered(thing_id=facility, kind="key_facility", category="加油站",
                                 name="加油站", place_id=tree.building),
        registry.ThingInspected(thing_id=facility, on=date(2026, 3, 9), finding="正常"),
    )  # fmt: skip
    street = await ticket(upstream, tree.grid, "0302")
    enquiry = await ticket(upstream, tree.other_grid, "0201")
    return World(tree, floating, resident, plan, case, hazard, street, enquiry)


async def test_each_department_gets_its_facts_and_no_others(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    w = await build(upstream)
    await close(core, YESTERDAY)
    await core.catch_up(upstream=upstream.stores)
    grid = w.tree.grid_code
    floating, resident = str(w.floating), str(w.resident)

    assert await facts(core, "civil_affairs") == [
        ("person_tagged", "elderly_living_alone", floating, "李*", grid),
        ("care_plan_started", "health_check", floating, "李*", grid),
        ("care_visit_missed", "health_check", floating, "李*", grid),
        ("care_visit_missed", "health_check", floating, "李*", grid),
        ("care_visit_missed", "health_check", floating, "李*", grid),
    ]
    assert await facts(core, "health") == [
        ("person_tagged", "severe_mental_disorder", floating, "李*", grid),
        *[("care_visit_missed", "health_check", floating, "李*", grid)] * 3,
    ]
    justice = await facts(core, "justice")
    assert justice[0] == ("person_tagged", "community_correction", resident, "赵**", grid)
    assert [f[0] for f in justice] == ["person_tagged", "mediation_agreement_signed"]
    assert await facts(core, "police") == [
        ("floating_moved_in", None, floating, "李*", grid),
        ("became_floating", "floating", resident, "赵**", grid),
    ]
    assert await facts(core, "urban_management") == [
        ("hazard_registered", "high", None, None, grid),
        ("hazard_resolved", None, None, None, grid),
        ("ticket_routed", "0302", None, None, grid),
    ]


async def test_entries_carry_dates_and_places_but_never_free_text(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    w = await build(upstream)
    await close(core, YESTERDAY)
    await core.catch_up(upstream=upstream.stores)
    signed = (await page(core, "justice")).page.entries[1]
    assert (signed.subject, signed.on, signed.until) == (
        str(w.case), date(2026, 3, 5), date(2026, 4, 4),
    )  # fmt: skip
    assert (signed.grid, signed.community) == (w.tree.grid_code, w.tree.community_code)
    missed = [e for e in (await page(core, "health")).page.entries if e.fact == "care_visit_missed"]
    start = TODAY - timedelta(days=23)
    assert [(e.on, e.until) for e in missed] == [
        (start + timedelta(days=7 * n), start + timedelta(days=7 * n + 6)) for n in range(3)
    ]
    routed = (await page(core, "urban_management")).page.entries[-1]
    assert (routed.subject, routed.on, routed.until) == (
        str(w.ticket), date(2026, 3, 2), date(2026, 3, 7),
    )  # fmt: skip
    for department in ("civil_affairs", "justice", "police", "health", "urban_management"):
        text = (await page(core, department)).page.model_dump_json()
        for free in ("每周测血压", "楼上漏水", "13812345678", "清理完毕", "民政局", "王*"):
            assert free not in text


async def test_a_visit_after_missed_weeks_leaves_them_missed_and_the_end_adds_none_twice(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    w = await build(upstream)
    await close(core, YESTERDAY)
    await core.catch_up(upstream=upstream.stores)
    await upstream.append(
        "cases", f"careplan-{w.plan}",
        cases.CareVisitRecorded(plan_id=w.plan, visit_id=uuid.uuid4(), visited_on=TODAY,
                                by=w.tree.worker_account),
        cases.CarePlanEnded(plan_id=w.plan, ended_on=TODAY, reason="搬走"),
    )  # fmt: skip
    await close(core, TODAY + timedelta(days=7))
    await core.catch_up(upstream=upstream.stores)
    kinds = [f[0] for f in await facts(core, "civil_affairs")]
    assert kinds.count("care_visit_missed") == 3
    assert kinds[-1] == "care_plan_ended"
    assert [f[0] for f in await facts(core, "health")].count("care_visit_missed") == 3


async def test_pages_follow_the_cursor_and_the_etag_stays_until_the_page_changes(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    w = await build(upstream)
    await close(core, YESTERDAY)
    await core.catch_up(upstream=upstream.stores)
    first = await page(core, "civil_affairs", limit=2)
    assert [e.fact for e in first.page.entries] == ["person_tagged", "care_plan_started"]
    assert first.page.more and first.page.next == first.page.entries[-1].cursor
    rest = await page(core, "civil_affairs", after=first.page.next, limit=10)
    assert [e.fact for e in rest.page.entries] == ["care_visit_missed"] * 3
    assert not rest.page.more
    again = await page(core, "civil_affairs", after=first.page.next, limit=10)
    assert again.etag == rest.etag
    end = await page(core, "civil_affairs", after=rest.page.next)
    assert end.page.entries == [] and end.page.next == rest.page.next

    await tag(upstream, w.floating, "disabled")
    await core.catch_up(upstream=upstream.stores)
    later = await page(core, "civil_affairs", after=first.page.next, limit=10)
    assert later.etag != rest.etag
    assert [
        e.fact for e in (await page(core, "civil_affairs", after=rest.page.next)).page.entries
    ] == ["person_tagged"]


async def test_a_cursor_of_another_generation_is_gone(views: tuple[Upstream, ViewsCore]) -> None:
    upstream, core = views
    await build(upstream)
    await core.catch_up(upstream=upstream.stores)
    with pytest.raises(CursorExpired):
        await page(core, "police", after=Cursor(99, 1).encode())


async def test_an_erased_person_shows_as_erased_in_every_feed_also_after_a_rebuild(
    views: tuple[Upstream, ViewsCore], tmp_path: Path
) -> None:
    upstream, core = views
    w = await build(upstream)
    await core.catch_up(upstream=upstream.stores)
    held = await page(core, "health")
    await upstream.append(
        "registry", f"person-{w.floating}",
        registry.PersonalDataErased(person_id=w.floating, legal_ground="consent_withdrawn"),
    )  # fmt: skip
    await core.catch_up(upstream=upstream.stores)
    for department in ("civil_affairs", "health", "police"):
        mine = [f for f in await facts(core, department) if f[2] == str(w.floating)]
        assert mine and {f[3] for f in mine} == {ERASED}
        assert mine[-1][0] == "personal_data_erased"
    assert (await page(core, "health")).etag != held.etag
    assert {f[3] for f in await facts(core, "justice") if f[2] == str(w.resident)} == {"赵**"}
    rebuilt = await rebuilt_rows(tmp_path, upstream, [Feeds.name])
    erased = dict(rebuilt[Feeds.name])["erased"]
    assert str(w.floating) in {row[0] for row in erased}


async def test_a_care_plans_erasure_shows_its_resident_as_erased(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    w = await build(upstream)
    await upstream.append(
        "cases", f"careplan-{w.plan}",
        cases.CarePlanDataErased(plan_id=w.plan, legal_ground="consent_withdrawn"),
    )  # fmt: skip
    await core.catch_up(upstream=upstream.stores)
    plan_facts = [f for f in await facts(core, "civil_affairs") if f[0].startswith("care_")]
    assert {f[3] for f in plan_facts} == {ERASED}
    assert [f[3] for f in await facts(core, "civil_affairs") if f[0] == "person_tagged"] == ["李*"]


async def test_a_rebuild_gives_the_same_entries_as_applying_batch_by_batch(
    views: tuple[Upstream, ViewsCore], tmp_path: Path
) -> None:
    upstream, core = views
    w = await build(upstream)
    await core.catch_up(upstream=upstream.stores)
    await upstream.append(
        "cases", f"careplan-{w.plan}",
        cases.CareVisitRecorded(plan_id=w.plan, visit_id=uuid.uuid4(), visited_on=TODAY,
                                by=w.tree.worker_account),
    )  # fmt: skip
    await upstream.append(
        "registry", f"person-{w.resident}",
        registry.PersonMovedOut(person_id=w.resident, dwelling_id=w.tree.other_dwelling,
                                on=date(2026, 3, 1)),
        registry.PersonalDataErased(person_id=w.resident, legal_ground="consent_withdrawn"),
    )  # fmt: skip
    await core.catch_up(upstream=upstream.stores)
    rebuilt = await rebuilt_rows(tmp_path, upstream, [Feeds.name])
    assert comparable(Feeds.name, rebuilt[Feeds.name]) == comparable(
        Feeds.name, await rows_of(core, Feeds.name)
    )


async def test_a_read_is_audited_on_its_readers_stream_of_the_day(
    views: tuple[Upstream, ViewsCore],
) -> None:
    _, core = views
    commands = core.commands(Metadata(actor="police-system-1"))
    moment = datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    for matched in (False, True):
        await record_read(
            commands, department="police", cursor_from="MS4x", cursor_to="MS4z",
            entries=0 if matched else 2, etag_matched=matched, now=moment,
        )  # fmt: skip
    stream = audit.stream_id("police", "police-system-1", date(2026, 3, 9))
    recorded = await core.store.read_stream(stream)
    assert [e.data for e in recorded] == [
        audit.FeedRead(department="police", reader="police-system-1", on=date(2026, 3, 9),
                       cursor_from="MS4x", cursor_to="MS4z", entries=2, etag_matched=False),
        audit.FeedRead(department="police", reader="police-system-1", on=date(2026, 3, 9),
                       cursor_from="MS4x", cursor_to="MS4z", entries=0, etag_matched=True),
    ]  # fmt: skip
    assert recorded[0].envelope.type == "wangge.views.FeedRead"
    assert recorded[0].envelope.actor == "police-system-1"
    assert stream != audit.stream_id("police", "police-system-1", date(2026, 3, 10))


async def until_filled(service: Running[ViewsSettings], headers: Any) -> httpx.Response:
    """The police feed once the service's own runners applied the producers' events: both
    entries, each placed in its grid (the roster, a view of its own, may follow a moment later,
    and an entry's codes are part of what the page says, so of its ETag)."""
    for _ in range(200):
        answer = await service.client.get("/feeds/police", headers=headers)
        entries = answer.json()["entries"] if answer.status_code == 200 else []
        if len(entries) == 2 and all(e["grid"] for e in entries):
            return answer
        await asyncio.sleep(0.05)
    raise AssertionError(f"the feed never filled: {answer.status_code} {answer.text}")


async def test_a_department_reads_its_own_feed_with_etag_and_every_read_is_audited(
    tmp_path: Path,
) -> None:
    async with upstream_stores(tmp_path) as upstream:
        w = await build(upstream)
        settings = settings_for("sqlite", tmp_path, None)
        async with started(settings, build_app, MIGRATIONS) as service:
            police = service.as_("department:police", subject="police-system-1")
            first = await until_filled(service, police)
            etag = first.headers["ETag"]
            assert [e["fact"] for e in first.json()["entries"]] == [
                "floating_moved_in", "became_floating",
            ]  # fmt: skip
            assert first.json()["entries"][0]["person"] == str(w.floating)

            same = await service.client.get(
                "/feeds/police", headers={**police, "If-None-Match": etag}
            )
            assert (same.status_code, same.headers["ETag"], same.content) == (304, etag, b"")

            after = first.json()["next"]
            empty = await service.client.get(f"/feeds/police?after={after}", headers=police)
            assert empty.json()["entries"] == [] and empty.json()["next"] == after

            admin = service.as_("subdistrict_admin", places=["320111001"])
            assert (await service.client.get("/feeds/justice", headers=admin)).status_code == 200

            other = await service.client.get("/feeds/health", headers=police)
            assert other.status_code == 403
            unknown = await service.client.get("/feeds/tax", headers=police)
            assert unknown.status_code == 404
            staff = service.as_("community_staff", places=["320111001-001"])
            assert (await service.client.get("/feeds/police", headers=staff)).status_code == 403

            garbage = await service.client.get("/feeds/police?after=nonsense", headers=police)
            assert garbage.status_code == 422
            assert garbage.headers["content-type"] == "application/problem+json"
            gone = await service.client.get(
                f"/feeds/police?after={Cursor(99, 3).encode()}", headers=police
            )
            assert gone.status_code == 410

            today = datetime.now(UTC).date()
            stream = audit.stream_id("police", "police-system-1", today)
            reads = [e.data for e in await service.store.read_stream(stream)]
            assert all(isinstance(r, audit.FeedRead) for r in reads)
            audited = [r for r in reads if isinstance(r, audit.FeedRead)]
            assert [(r.etag_matched, r.entries, r.cursor_from) for r in audited[-3:]] == [
                (False, 2, None), (True, 0, None), (False, 0, after),
            ]  # fmt: skip
            # the refused reads (403, 422, 410) sent nothing: no read of another feed recorded
            assert {r.department for r in audited} == {"police"}
