"""Every row of the training access matrix (docs/training/access.md), called as every role.

A role the matrix marks ✗ gets 403; no token gets 401; a role marked ✓ gets through. Outside
their scope, a grid worker and community staff learn nothing: another community's worker is
answered exactly as a worker nobody appointed, and lists and a session's roll leave them out.
The documented table is generated from the same routes, and a test here checks it is current.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from wangge.registry.config import RegistrySettings
from wangge.service.access import key_of, method_of
from wangge.service.testing import every_role_as_the_matrix_says, matrix_headers, started
from wangge.training.api.matrix import render, routes
from wangge.training.app import MIGRATIONS, ROUTERS, build_app
from wangge.training.config import TrainingSettings

from deployment_support import DEPLOYMENTS, deployment
from duo_support import Duo, json_of
from registry_support import build_tree
from registry_support import started as start_registry

ROUTES = routes(ROUTERS)
DOCS = Path(__file__).parents[3] / "docs" / "training" / "access.md"
SUBDISTRICT = "320111001"
LAWYER = {"name": "李律师", "kind": "outside", "organisation": "某律师事务所"}


@dataclass
class World:
    """Zhang in the first community's grid, Li in the second's; one of every record."""

    duo: Duo
    ids: dict[str, str]


def _when(days: float) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}


@pytest.fixture(scope="module", params=DEPLOYMENTS)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("training-matrix")
    settings = deployment(request, tmp, "reg", "trn")
    async with start_registry(RegistrySettings(**settings["reg"])) as registry:
        tree = await build_tree(registry)
        admin = tree.admin

        async def place(**body: Any) -> str:
            response = await registry.client.post("/places", json=body, headers=admin)
            assert response.status_code == 201, response.text
            place_id: str = response.json()["place_id"]
            return place_id

        community = await place(kind="community", name="江心社区", code=f"{SUBDISTRICT}-002",
                                parent_id=tree.subdistrict)  # fmt: skip
        grid = await place(kind="grid", name="第1网格", code=f"{SUBDISTRICT}-002-001",
                           parent_id=community)  # fmt: skip
        training_settings = TrainingSettings(**settings["trn"])
        async with started(training_settings, build_app, MIGRATIONS) as training:
            duo = Duo(registry, training, tree, community, grid)
            yield World(duo, await _records(duo))


async def _records(duo: Duo) -> dict[str, str]:
    """One of each record; Li's secondment, attendance and suggestion lie outside Zhang's and
    the first community's scope."""
    zhang = await duo.appoint("worker-zhang", "张伟")
    li = await duo.appoint("worker-li", "李娜", duo.second_grid)
    client, trainer = duo.training.client, duo.trainer()

    async def post(path: str, body: dict[str, Any], key: str, status: int = 201) -> str:
        value: str = (await json_of(await client.post(path, json=body, headers=trainer), status))[
            key
        ]
        return value

    session = await post("/sessions", {"topic": "防范非法集资", "instructors": [LAWYER],
                                       "place": "街道会议室", "capacity": 30, **_when(3)},
                         "session_id")  # fmt: skip
    held = await post("/sessions", {"topic": "矛盾调解", "instructors": [LAWYER],
                                    "place": "街道会议室", "capacity": 30, **_when(-1)},
                      "session_id")  # fmt: skip
    for worker in (zhang, li):
        await json_of(
            await client.put(f"/sessions/{held}/attendance/{worker}",
                             json={"attendance": "late", "note": "迟到十分钟"}, headers=trainer)
        )  # fmt: skip
    programme = await post("/programmes", {"name": "专题轮训", "modules": [
        {"code": "law", "title": "法律", "hours": 2}]}, "programme_id")  # fmt: skip
    await post(f"/programmes/{programme}/workers", {"worker_id": zhang, "on": "2026-01-01"},
               "programme_id", 200)  # fmt: skip
    today = datetime.now(UTC).date()
    secondment = await post("/secondments", {
        "worker_id": li, "host_kind": "service_hall", "host": "街道便民服务大厅",
        "starts_on": (today - timedelta(days=3)).isoformat(),
        "ends_on": (today + timedelta(days=20)).isoformat(), "mentor": "陈主任",
        "goals": ["熟悉医保窗口"]}, "secondment_id")  # fmt: skip
    own = await post("/secondments", {
        "worker_id": zhang, "host_kind": "department", "host": "街道司法所",
        "starts_on": today.isoformat(), "ends_on": today.isoformat(), "mentor": "周所长",
        "goals": ["学习人民调解"]}, "secondment_id")  # fmt: skip
    sections = [{"title": "入户走访"}]
    handbook = await post(
        "/handbooks", {"title": "网格一本通", "sections": sections}, "handbook_id"
    )
    forum = await post("/forums", {"topic": "服务清单", "place": "社区会议室",
                                   "held_at": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
                                   "participants": [zhang, li], "guests": ["王敏"]},
                       "forum_id")  # fmt: skip
    suggestion = await post(f"/forums/{forum}/suggestions",
                            {"text": "夜间代办", "by_worker": li}, "suggestion_id")  # fmt: skip
    return {
        "zhang": zhang, "li": li, "session": session, "held": held, "programme": programme,
        "secondment": secondment, "own_secondment": own, "handbook": handbook, "forum": forum,
        "suggestion": suggestion,
    }  # fmt: skip


def _path(route: APIRoute, ids: dict[str, str], worker: str) -> str:
    return (
        route.path.replace("{session_id}", ids["session"])
        .replace("{worker_id}", worker)
        .replace("{programme_id}", ids["programme"])
        .replace("{secondment_id}", ids["own_secondment"])
        .replace("{handbook_id}", ids["handbook"])
        .replace("{forum_id}", ids["forum"])
        .replace("{suggestion_id}", ids["suggestion"])
    )


XAPI = {"X-Experience-API-Version": "1.0.3"}


def _headers(w: World, caller: str) -> dict[str, str]:
    subject = "worker-zhang" if caller == "grid_worker" else None
    return {**matrix_headers(w.duo.training, caller, subject=subject), **XAPI}


@pytest.mark.parametrize("route", ROUTES, ids=key_of)
async def test_every_role_gets_what_the_matrix_says(world: World, route: APIRoute) -> None:
    method = method_of(route)

    async def call(headers: Mapping[str, str]) -> httpx.Response:
        # with no token, the xAPI version still; a grid worker acts on their own record
        return await world.duo.training.client.request(
            method,
            _path(route, world.ids, world.ids["zhang"]),
            json={} if method != "GET" else None,
            headers={**XAPI, **headers},
        )

    await every_role_as_the_matrix_says(route, call, lambda caller: _headers(world, caller))


def _same(a: httpx.Response, b: httpx.Response, *ids: str) -> None:
    """Two answers alike but for the id each was asked about."""
    assert a.status_code == b.status_code, (a.text, b.text)
    text_a, text_b = a.text, b.text
    for one in ids:
        text_a, text_b = text_a.replace(one, "ID"), text_b.replace(one, "ID")
    assert text_a == text_b


@pytest.fixture(params=["grid_worker", "community_staff"])
def caller(request: pytest.FixtureRequest) -> str:
    """A caller whose scope is Zhang's grid or community, not Li's."""
    role: str = request.param
    return role


async def test_a_worker_outside_the_callers_scope_is_answered_as_one_nobody_appointed(
    world: World, caller: str
) -> None:
    client, ids = world.duo.training.client, world.ids
    headers = _headers(world, caller)
    nobody = str(uuid.uuid4())
    session = ids["session"]
    asks: list[tuple[str, str, str]] = [
        ("GET", "/workers/{w}/record", ""),
        ("GET", "/secondments", "worker_id"),
    ]
    if caller == "grid_worker":
        asks += [
            ("POST", f"/sessions/{session}/enrolments", "body"),
            ("DELETE", f"/sessions/{session}/enrolments/{{w}}", ""),
            ("POST", f"/handbooks/{ids['handbook']}/acknowledgements", "body"),
        ]
    for method, path, how in asks:
        answers = []
        for worker in (ids["li"], nobody):
            response = await client.request(
                method,
                path.replace("{w}", worker),
                params={"worker_id": worker} if how == "worker_id" else None,
                json={"worker_id": worker} if how == "body" else None,
                headers=headers,
            )
            assert response.status_code in (403, 404), (path, response.text)
            answers.append(response)
        _same(answers[0], answers[1], ids["li"], nobody)
    # Li's secondment is answered as a secondment nobody arranged
    theirs = await client.get(f"/secondments/{ids['secondment']}", headers=headers)
    none = await client.get(f"/secondments/{nobody}", headers=headers)
    _same(theirs, none, ids["secondment"], nobody)
    assert theirs.status_code == 404


async def test_lists_and_a_sessions_roll_leave_out_workers_outside_the_callers_scope(
    world: World, caller: str
) -> None:
    client, ids = world.duo.training.client, world.ids
    headers = _headers(world, caller)
    workers = await json_of(await client.get("/workers", headers=headers))
    assert [w["worker_id"] for w in workers["workers"]] == [ids["zhang"]]
    secondments = await json_of(await client.get("/secondments", headers=headers))
    assert [s["secondment_id"] for s in secondments["secondments"]] == [ids["own_secondment"]]
    held = await json_of(await client.get(f"/sessions/{ids['held']}", headers=headers))
    assert [r["worker_id"] for r in held["roll"]] == [ids["zhang"]]
    full = await json_of(await client.get(f"/sessions/{ids['held']}", headers=_headers(
        world, "trainer")))  # fmt: skip
    assert sorted(r["worker_id"] for r in full["roll"]) == sorted([ids["zhang"], ids["li"]])


def test_the_documented_matrix_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(ROUTES), "run wangge training access-table"
