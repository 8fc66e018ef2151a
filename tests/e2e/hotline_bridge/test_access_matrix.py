"""Every row of the hotline bridge's access matrix (docs/hotline-bridge/access.md), called as
every role.

A role the matrix marks ✗ gets 403; no token gets 401 (Open311 takes none); a role marked ✓
gets through. Outside its places a caller learns nothing: a ticket of another grid is the 404 of
a ticket nobody took in, a grid elsewhere the 422 of a grid nobody registered, an erasure by
phone erases and counts nothing there. The documented table is generated from the same routes,
and a test here checks that it is current.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from wangge.hotline_bridge.api.matrix import SIGNED, render, routes
from wangge.hotline_bridge.app import MATRIX_ROUTERS, MIGRATIONS, build_app
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, sign
from wangge.registry.config import RegistrySettings
from wangge.service.access import allowed, key_of, method_of
from wangge.service.testing import (
    MATRIX_INSIDE,
    MATRIX_OUTSIDE,
    every_role_as_the_matrix_says,
    matrix_headers,
    started,
)

from hotline_support import Hotline, push, ticket
from pair_support import Pair
from registry_support import Tree, build_tree
from registry_support import started as start_registry

ROUTES = routes(MATRIX_ROUTERS)
DOCS = Path(__file__).parents[3] / "docs" / "hotline-bridge" / "access.md"
SUBDISTRICT = "320111001"
ROUTED_AT = "江苏省南京市建邺区沿江街道滨江社区12幢2单元1201室"
PHONE = "13812345678"
TRIAGE_PHONE = "13687654321"
ERASURE = {"legal_ground": "consent_withdrawn"}


@dataclass
class World:
    """A hotline bridge following a registry, with a ticket routed to grid 320111001-001-001
    and one in triage."""

    hotline: Hotline
    tree: Tree
    routed: str
    triage: str
    request: str
    """A request posted through Open311."""


@pytest.fixture(scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp = tmp_path_factory.mktemp("hotline-matrix")
    common: dict[str, Any] = {
        "environment": "test", "data_dir": tmp, "database_url": None,
        "kafka_bootstrap_servers": None,
    }  # fmt: skip
    async with start_registry(RegistrySettings(**common)) as registry:
        tree = await build_tree(registry)
        async with started(HotlineSettings(**common), build_app, MIGRATIONS) as hotline:
            await Pair(registry, hotline, tree, "").mapped(tree.dwelling)
            routed = (await push(hotline, ticket(address=ROUTED_AT))).json()
            assert routed["grid_id"] == tree.grid, routed
            waiting = ticket(
                address="沿江街道附近的路口", location=None,
                caller={"name": "赵六", "phone": TRIAGE_PHONE},
            )  # fmt: skip
            triage = (await push(hotline, waiting)).json()
            assert triage["status"] == "triage", triage
            posted = await hotline.client.post(
                "/open311/v2/requests.json",
                data={"api_key": next(iter(hotline.settings.open311_clients())),
                      "service_code": "0301", "address_string": "沿江街道附近的路口"},
            )  # fmt: skip
            assert posted.status_code == 200, posted.text
            request = posted.json()[0]["service_request_id"]
            yield World(hotline, tree, routed["ticket_id"], triage["ticket_id"], request)


def _path(route: APIRoute, w: World, ticket_id: str | None = None) -> str:
    chosen = ticket_id or (w.triage if route.path.endswith("/route") else w.routed)
    return (
        route.path.replace("{ticket_id}", chosen)
        .replace("{fmt}", "json")
        .replace("{service_code}", "0301")
        .replace("{token}", w.request)
        .replace("{service_request_id}", w.request)
    )


QUERY = {"/rates": {"month": "2026-11"}}


def _valid_body(route: APIRoute, w: World) -> dict[str, Any] | None:
    """A body that would pass validation, so that only scope decides the answer."""
    bodies: dict[str, dict[str, Any]] = {
        "POST /tickets/{ticket_id}/route": {"grid_id": w.tree.grid},
        "POST /tickets/{ticket_id}/return": {"reason": "不属本网格"},
        "POST /tickets/{ticket_id}/extension": {
            "until": "2030-01-01T00:00:00+00:00", "reason": "需协调"
        },
        "POST /tickets/{ticket_id}/reply": {"reply": "已处理", "solved": True},
        "DELETE /tickets/{ticket_id}/caller": ERASURE,
        "POST /callers/erasure": {**ERASURE, "phone": PHONE},
    }  # fmt: skip
    return bodies.get(key_of(route))


INSIDE = {**MATRIX_INSIDE, "hotline_system": []}


async def _call(
    w: World,
    route: APIRoute,
    headers: Mapping[str, str],
    body: Any,
    ticket_id: str | None = None,
) -> httpx.Response:
    method = method_of(route)
    path = _path(route, w, ticket_id)
    if path.startswith("/open311") and method == "POST":
        # a known api_key and nothing else: refused (400) for want of a service code
        key = next(iter(w.hotline.settings.open311_clients()))
        return await w.hotline.client.post(
            path, content=f"api_key={key}".encode(),
            headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
    raw = json.dumps(body, ensure_ascii=False).encode() if method != "GET" else None
    if route.path in SIGNED and raw is not None:
        sent = int(time.time())
        signature = sign(w.hotline.settings.signing_secret(), sent, raw)
        headers = {**headers, TIMESTAMP: str(sent), SIGNATURE: signature}
    if raw is not None:
        headers = {**headers, "Content-Type": "application/json"}
    return await w.hotline.client.request(
        method, path, params=QUERY.get(route.path), content=raw, headers=headers
    )


def _without(answer: httpx.Response, *ids: str) -> Any:
    """The answer's body with the ids it names blanked: two answers alike but for them."""
    text = answer.text
    for one in ids:
        text = text.replace(one, "<id>")
    return (answer.status_code, json.loads(text))


@pytest.mark.parametrize("route", ROUTES, ids=key_of)
async def test_every_role_gets_what_the_matrix_says(world: World, route: APIRoute) -> None:
    open_route = route.path.startswith("/open311")
    await every_role_as_the_matrix_says(
        route,
        # an empty body for commands: refused for its content (but accept, which takes none)
        lambda headers: _call(world, route, headers, {}),
        lambda caller: matrix_headers(world.hotline, caller, INSIDE),
        open_route=open_route,
    )
    key = key_of(route)
    outsider = next((c for c in MATRIX_OUTSIDE if c in allowed(route)), None)
    if outsider is None or open_route:
        return  # the hotline's own messages and Open311 know no places
    headers = matrix_headers(world.hotline, outsider, MATRIX_OUTSIDE)
    body = _valid_body(route, world)
    response = await _call(world, route, headers, body)
    if key == "GET /rates":
        assert response.status_code == 200 and response.json()["areas"] == [], response.text
    elif key == "POST /callers/erasure":
        nobody = await _call(world, route, headers, {**ERASURE, "phone": "13500000000"})
        assert response.status_code == 200, response.text
        assert response.json() == nobody.json() == {"erased": 0, "ticket_ids": []}
    elif key == "POST /tickets/{ticket_id}/route":
        other = str(uuid.uuid4())
        nowhere = await _call(world, route, headers, {"grid_id": other})
        assert response.status_code == 422, response.text
        assert _without(response, world.tree.grid) == _without(nowhere, other)
    elif key in ("GET /triage", "GET /catalogue"):
        pass  # the subdistrict's triage queue, the catalogue: no narrower place
    else:
        other = str(uuid.uuid4())
        nowhere = await _call(world, route, headers, body, ticket_id=other)
        assert response.status_code == 404, (outsider, response.text)
        assert _without(response, world.routed) == _without(nowhere, other)


async def test_the_erasures_outside_the_callers_places_left_every_caller_alone(
    world: World,
) -> None:
    admin = world.hotline.as_("subdistrict_admin", places=[SUBDISTRICT])
    for ticket_id in (world.routed, world.triage):
        view = await world.hotline.client.get(f"/tickets/{ticket_id}", headers=admin)
        assert view.json()["caller_erased"] is False


def test_the_documented_matrix_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(ROUTES), (
        "run wangge hotline-bridge access-table"
    )
