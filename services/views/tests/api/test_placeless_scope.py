"""What no grid holds is still somebody's: through HTTP, on the embedded default.

A person never housed, a household in a dwelling the roster does not know, a matter in triage:
each is the deployment's, read by the admins of its subdistrict and answered 404 to an admin of
another subdistrict, or one with no places, exactly as something that does not exist. A person
who moved out, or was not housed yet on the day asked, is placed by where they lived or live."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from wangge.service.auth import Principal
from wangge.service.testing import Running, started
from wangge.views.api.access import in_scope
from wangge.views.app import MIGRATIONS, build_app
from wangge.views.config import ViewsSettings
from wangge.views.consumed import hotline, registry

from views_support import Tree, Upstream, plant_tree, settings_for, upstream_stores

SINCE, LEFT = date(2024, 3, 1), date(2025, 1, 1)


@dataclass(frozen=True)
class World:
    """The running service and what nothing, or only the past, places."""

    service: Running[ViewsSettings]
    tree: Tree
    never_housed: uuid.UUID
    moved_out: uuid.UUID
    housed_later: uuid.UUID
    household: uuid.UUID
    triage: str


def _person(someone: uuid.UUID) -> registry.PersonRegistered:
    return registry.PersonRegistered(
        person_id=someone, sex="male", birth_year=1980, name_masked="李*",
        identity_masked="320111********001X", hukou_type="non_local",
        residence_status="floating",
    )  # fmt: skip


async def _populate(upstream: Upstream, tree: Tree) -> tuple[uuid.UUID, ...]:
    never, gone, later, household = (uuid.uuid4() for _ in range(4))
    await upstream.append("registry", f"person-{never}", _person(never))
    await upstream.append(
        "registry", f"person-{gone}", _person(gone),
        registry.PersonMovedIn(person_id=gone, dwelling_id=tree.dwelling, on=SINCE),
        registry.PersonMovedOut(person_id=gone, dwelling_id=tree.dwelling, on=LEFT),
    )  # fmt: skip
    await upstream.append(
        "registry", f"person-{later}", _person(later),
        registry.PersonResidenceStatusChanged(
            person_id=later, residence_status="floating", on=date(2023, 1, 1)
        ),
        registry.PersonMovedIn(person_id=later, dwelling_id=tree.dwelling, on=SINCE),
    )  # fmt: skip
    await upstream.append(
        "registry", f"household-{household}",
        registry.HouseholdRegistered(
            household_id=household, number=f"H{household.hex[:6]}", type="family",
            dwelling_id=uuid.uuid4(), head_person_id=never, on=SINCE,
        ),
    )  # fmt: skip
    return never, gone, later, household


async def _triage(upstream: Upstream) -> str:
    ticket, correlation = uuid.uuid4(), f"m-{uuid.uuid4()}"
    received = datetime(2026, 3, 2, 9, tzinfo=UTC)
    await upstream.append(
        "hotline_bridge", f"ticket-{ticket}",
        hotline.TicketReceived(
            ticket_id=ticket, ticket_number=f"GD{ticket.hex[:10]}", channel="web",
            received_at=received, category="0301", category_name="噪声扰民", kind="complaint",
            content="噪声", address="不详", urgency="normal",
            deadline=received + timedelta(days=5), deadline_source="catalogue",
            push_fingerprint="t1",
        ),
        hotline.TicketAwaitingTriage(ticket_id=ticket, reasons=["no address match"]),
        correlation_id=correlation,
    )  # fmt: skip
    return correlation


async def _until_read(service: Running[ViewsSettings], path: str, headers: Any) -> None:
    for _ in range(200):
        answer = await service.client.get(path, headers=headers)
        if answer.status_code == 200:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never answered: {answer.status_code} {answer.text}")


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    data_dir = tmp_path_factory.mktemp("views-placeless")
    async with upstream_stores(data_dir) as upstream:
        tree = await plant_tree(upstream)
        never, gone, later, household = await _populate(upstream, tree)
        triage = await _triage(upstream)
        settings = settings_for("sqlite", data_dir, None)
        async with started(settings, build_app, MIGRATIONS) as service:
            admin = service.as_("subdistrict_admin", places=[tree.subdistrict_code])
            worker = service.as_("grid_worker", places=[tree.grid_code])
            # each view catches up on its own: wait for every answer its rightful reader gets
            for path, headers in (
                (f"/residents/{never}", admin), (f"/households/{household}", admin),
                (f"/matters/{triage}", admin), (f"/residents/{gone}", worker),
                (f"/residents/{later}", worker),
            ):  # fmt: skip
                await _until_read(service, path, headers)
            yield World(service, tree, never, gone, later, household, triage)


def _placeless(w: World) -> list[str]:
    return [f"/residents/{w.never_housed}", f"/households/{w.household}", f"/matters/{w.triage}"]


def _placed_in_the_past(w: World) -> list[str]:
    return [f"/residents/{w.moved_out}", f"/residents/{w.housed_later}?as_of=2023-06-01"]


async def _refused_as_unknown(w: World, path: str, headers: Mapping[str, str]) -> None:
    kind = path.split("/")[1]
    theirs = await w.service.client.get(path, headers=headers)
    nobody = await w.service.client.get(f"/{kind}/{uuid.uuid4()}", headers=headers)
    assert theirs.status_code == nobody.status_code == 404, (path, theirs.text)
    assert theirs.json()["type"] == nobody.json()["type"]


@pytest.mark.parametrize("places", [["320111002"], []], ids=["another-subdistrict", "no-places"])
async def test_what_no_grid_holds_is_not_found_for_an_admin_outside_the_deployment(
    world: World, places: list[str]
) -> None:
    # both read any of them before: what nothing placed was any subdistrict admin's
    outsider = world.service.as_("subdistrict_admin", places=places)
    for path in [*_placeless(world), *_placed_in_the_past(world)]:
        await _refused_as_unknown(world, path, outsider)


async def test_the_deployment_s_subdistrict_admin_reads_what_no_grid_holds(world: World) -> None:
    admin = world.service.as_("subdistrict_admin", places=[world.tree.subdistrict_code])
    for path in [*_placeless(world), *_placed_in_the_past(world)]:
        answer = await world.service.client.get(path, headers=admin)
        assert answer.status_code == 200, (path, answer.text)


async def test_the_grid_of_where_they_lived_or_live_reads_them_and_no_one_else(
    world: World,
) -> None:
    client, tree = world.service.client, world.tree
    worker = world.service.as_("grid_worker", places=[tree.grid_code])
    for path in _placed_in_the_past(world):
        answer = await client.get(path, headers=worker)
        assert answer.status_code == 200, (path, answer.text)
    picture = (await client.get(_placed_in_the_past(world)[1], headers=worker)).json()
    assert picture["dwelling"] is None  # not housed yet on the day: the picture says so
    for path in _placeless(world):
        await _refused_as_unknown(world, path, worker)
    elsewhere = world.service.as_("grid_worker", places=[tree.other_grid_code])
    for path in _placed_in_the_past(world):
        await _refused_as_unknown(world, path, elsewhere)


def _admin(*places: str) -> Principal:
    return Principal("admin", frozenset({"subdistrict_admin"}), frozenset(places))


def test_in_a_deployment_of_two_subdistricts_the_placeless_is_read_by_one_covering_both() -> None:
    both = ("320111001", "320111002")
    assert not in_scope(_admin("320111001"), [None], both)
    assert in_scope(_admin("320111001", "320111002"), [None], both)
    assert not in_scope(_admin("320111001"), [], ())  # no subdistrict known yet: nobody
    assert in_scope(Principal("a", frozenset({"analyst"}), frozenset()), [None], both)
