"""Every row of the cases service's access matrix (docs/cases/access.md), called as every role.

A role the matrix marks ✗ gets 403; no token gets 401; a role marked ✓ gets through inside its
places, and outside them gets the 404 (or the empty list) a case, plan, need or grid that
exists nowhere gets, body and all. The documented table is generated from the same routes, and
a test here checks that it is current.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute

from wangge.cases.api.matrix import render, routes
from wangge.cases.app import MIGRATIONS, ROUTERS, build_app
from wangge.cases.config import CasesSettings
from wangge.cases.projections.residents import Residents
from wangge.cases.projections.roster import Roster, worker_of
from wangge.events.projection import active_tables
from wangge.registry.config import RegistrySettings
from wangge.service.access import allowed, key_of, method_of
from wangge.service.testing import (
    MATRIX_OUTSIDE,
    Running,
    every_role_as_the_matrix_says,
    matrix_headers,
    started,
)

from deployment_support import DEPLOYMENTS, deployment
from registry_support import Registry, build_tree, register_person
from registry_support import started as start_registry
from trio_support import eventually

ROUTES = routes(ROUTERS)
SUBDISTRICT = "320111001"
WORKER = "worker-matrix"
DOCS = Path(__file__).parents[3] / "docs" / "cases" / "access.md"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class World:
    """A registry and the cases service with one of each record in grid 320111001-001-001."""

    registry: Registry
    cases: Running[CasesSettings]
    ids: dict[str, str]


async def _copied(cases: Running[CasesSettings], grid: str, person: str) -> bool:
    """Whether the cases service knows the grid, its worker and the resident."""
    state = cases.state
    async with state.engine.connect() as conn:
        try:
            roster = await active_tables(conn, state.projections[Roster.name])
            residents = (await active_tables(conn, state.projections[Residents.name]))["residents"]
        except LookupError:
            return False
        worker = await worker_of(conn, roster, uuid.UUID(grid))
        known = await conn.scalar(
            sa.select(residents.c.name_masked).where(residents.c.person_id == uuid.UUID(person))
        )
    return worker is not None and worker[1] == WORKER and known is not None


async def _made(response: httpx.Response, key: str) -> str:
    assert response.status_code == 201, response.text
    value: str = response.json()[key]
    return value


@pytest.fixture(scope="module", params=DEPLOYMENTS)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    settings = deployment(request, tmp_path_factory.mktemp("m"), "reg", "cas")
    async with AsyncExitStack() as stack:
        registry = await stack.enter_async_context(
            start_registry(RegistrySettings(**settings["reg"]))
        )
        tree = await build_tree(registry)
        admin = tree.admin
        await _made(
            await registry.client.post(
                "/workers",
                json={"account": WORKER, "name": "网格员", "grid_ids": [tree.grid],
                      "on": "2026-01-01"},
                headers=admin,
            ),
            "worker_id",
        )  # fmt: skip
        person = (await register_person(registry, tree, name="王五"))["person_id"]
        await _made(
            await registry.client.post(
                "/visits",
                json={"dwelling_id": tree.dwelling, "visited_at": datetime.now(UTC).isoformat(),
                      "needs": [{"category": "dispute", "description": "邻里噪声"}]},
                headers=admin,
            ),
            "visit_id",
        )  # fmt: skip
        cases = await stack.enter_async_context(
            started(CasesSettings(**settings["cas"]), build_app, MIGRATIONS)
        )
        await eventually(lambda: _copied(cases, tree.grid, person), what="the copies")
        staff = cases.as_("subdistrict_admin", places=[SUBDISTRICT], subject="admin")

        async def need() -> Any:
            items = (await cases.client.get("/suggestions", headers=staff)).json()["items"]
            return items[0]["need_id"] if items else None

        need_id = await eventually(need, what="the need as a suggestion")
        case = await _made(
            await cases.client.post(
                "/cases",
                json={"kind": "dispute", "source": "walk_in", "title": "噪声纠纷",
                      "grid_id": tree.grid},
                headers=staff,
            ),
            "case_id",
        )  # fmt: skip
        party = await _made(
            await cases.client.post(
                f"/cases/{case}/parties",
                json={"role": "respondent", "outside": {"name": "赵六"}},
                headers=staff,
            ),
            "party_id",
        )
        plan = await _made(
            await cases.client.post(
                "/care-plans",
                json={"resident": person, "grid_id": tree.grid, "kind": "companionship",
                      "every_days": 7, "starts_on": "2026-01-01"},
                headers=staff,
            ),
            "plan_id",
        )  # fmt: skip
        queued = {}
        for queue, level, to in QUEUED:
            queued[queue] = await _made(
                await cases.client.post(
                    "/cases",
                    json={"kind": "hazard", "source": "visit", "title": f"上报{queue}",
                          "grid_id": tree.grid},
                    headers=staff,
                ),
                "case_id",
            )  # fmt: skip
            escalated = await cases.client.post(
                f"/cases/{queued[queue]}/escalate",
                json={"level": level, "to": to, "reason": "网格处置不了"},
                headers=staff,
            )
            assert escalated.status_code == 200, escalated.text
        ids = {"grid": tree.grid, "person": person, "case": case, "party": party,
               "plan": plan, "need": need_id} | queued  # fmt: skip
        yield World(registry, cases, ids)


QUEUED = (
    ("community", "community", "滨江社区"),
    ("subdistrict", "subdistrict", "街道"),
    ("health", "department", "health"),
)
"""A case in each kind of queue (the matrix's department column is ``department:health``)."""


def _queue_case(route: APIRoute, ids: dict[str, str]) -> str:
    """The case a route names: for a queue's routes, the one in that queue."""
    if route.path.startswith("/queues/"):
        queue = route.path.split("/")[2]
        return ids["health" if queue == "{department}" else queue]
    return ids["case"]


def _path(route: APIRoute, ids: dict[str, str]) -> str:
    return (
        route.path.replace("{department}", "health")
        .replace("{case_id}", _queue_case(route, ids))
        .replace("{party_id}", ids["party"])
        .replace("{plan_id}", ids["plan"])
        .replace("{need_id}", ids["need"])
    )


def _valid_body(route: APIRoute, ids: dict[str, str]) -> dict[str, Any] | None:
    """A body that passes validation, so that only scope decides the answer."""
    day = "2026-01-01"
    erasure = {"legal_ground": "consent_withdrawn"}
    bodies: dict[str, dict[str, Any]] = {
        "POST /cases": {"kind": "hazard", "source": "visit", "title": "楼道堆物",
                        "grid_id": ids["grid"]},
        "POST /cases/{case_id}/progress": {"note": "已上门"},
        "POST /cases/{case_id}/escalate": {"level": "community", "to": "社区", "reason": "r"},
        "POST /cases/{case_id}/refer": {"department": "urban_management", "reason": "r"},
        "POST /cases/{case_id}/agreement/confirmation": {"requested_on": day, "court": "法院"},
        "POST /cases/{case_id}/resolve": {"resolution": "r", "solved": False},
        "POST /cases/{case_id}/close": {},
        "POST /cases/{case_id}/reopen": {"reason": "r"},
        "POST /cases/{case_id}/follow-up": {"note": "n"},
        "POST /cases/{case_id}/parties": {"role": "applicant", "resident": ids["person"]},
        "DELETE /cases/{case_id}/parties/{party_id}/personal-data": erasure,
        "POST /cases/{case_id}/mediators": {"mediator": "刘调解"},
        "POST /cases/{case_id}/sessions": {"held_at": f"{day}T08:00:00+08:00", "place": "室",
                                           "attendees": [ids["party"]], "mediators": ["刘"],
                                           "summary": "s", "signed_by": []},
        "POST /cases/{case_id}/agreement": {"signed_by": [ids["party"], ids["party"]],
                                            "facts": "f", "dispute": "d",
                                            "responsibilities": "r", "terms": "t",
                                            "performance": "p", "perform_by": day,
                                            "signed_on": day},
        "POST /cases/{case_id}/agreement/follow-up": {"honoured": True, "note": "n"},
        "POST /care-plans": {"resident": ids["person"], "grid_id": ids["grid"],
                             "kind": "companionship", "every_days": 7, "starts_on": day},
        "POST /care-plans/{plan_id}/visits": {"visited_on": day},
        "POST /care-plans/{plan_id}/end": {"ended_on": day, "reason": "r"},
        "DELETE /care-plans/{plan_id}/personal-data": erasure,
    }  # fmt: skip
    return bodies.get(key_of(route))


async def _call(
    w: World,
    route: APIRoute,
    headers: Mapping[str, str],
    body: Any,
    ids: dict[str, str] | None = None,
) -> httpx.Response:
    method = method_of(route)
    return await w.cases.client.request(
        method,
        _path(route, ids or w.ids),
        json=body if method != "GET" else None,
        headers=headers,
    )


def _anonymised(response: httpx.Response) -> tuple[int, str, str]:
    """What a caller learns from an answer, but for the ids it names (theirs to name)."""
    return (response.status_code, response.headers["content-type"], UUID.sub("<id>", response.text))


@pytest.mark.parametrize("route", ROUTES, ids=key_of)
async def test_every_role_gets_what_the_matrix_says(world: World, route: APIRoute) -> None:
    await every_role_as_the_matrix_says(
        route,
        lambda headers: _call(world, route, headers, {}),
        lambda caller: matrix_headers(world.cases, caller),
    )
    nowhere = {key: str(uuid.uuid4()) for key in world.ids} | {"person": world.ids["person"]}
    for outsider in (c for c in MATRIX_OUTSIDE if c in allowed(route)):
        headers = matrix_headers(world.cases, outsider, MATRIX_OUTSIDE)
        response = await _call(world, route, headers, _valid_body(route, world.ids))
        if method_of(route) == "GET" and "{" not in route.path:
            assert response.status_code == 200, response.text
            lists = [v for v in response.json().values() if isinstance(v, list)]
            assert lists and all(v == [] for v in lists), (outsider, response.text)
            continue
        assert response.status_code == 404, (outsider, response.text)
        elsewhere = await _call(world, route, headers, _valid_body(route, nowhere), nowhere)
        assert _anonymised(response) == _anonymised(elsewhere), outsider


def test_the_documented_matrix_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(ROUTES), "run wangge cases access-table"
