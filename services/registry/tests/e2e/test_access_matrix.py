"""Every row of the access matrix (docs/registry/access.md), called as every role.

A role the matrix marks ✗ gets 403; no token gets 401; a role marked ✓ gets through, inside its
places, and gets 404 (or an empty list) for records outside them. The documented table is
generated from the same routes, and a test here checks that it is current.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from stdnum.cn import uscc

from wangge.registry.api.matrix import render, routes
from wangge.registry.app import ROUTERS
from wangge.registry.config import RegistrySettings
from wangge.service.access import allowed, key_of, method_of
from wangge.service.auth import ANY_DEPARTMENT
from wangge.service.testing import (
    MATRIX_OUTSIDE,
    backend_settings,
    every_role_as_the_matrix_says,
    matrix_headers,
)

from registry_support import Registry, build_tree, identity_number, register_person, started

ROUTES = routes(ROUTERS)
DOCS = Path(__file__).parents[4] / "docs" / "registry" / "access.md"


@dataclass
class World:
    """A registry with one of each record, in grid 320111001-001-001."""

    registry: Registry
    ids: dict[str, str]
    identity_number: str


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    tmp = tmp_path_factory.mktemp("matrix")
    settings = backend_settings(RegistrySettings, request.param, tmp, url, "reg")
    async with started(settings) as registry:
        tree = await build_tree(registry)
        number = identity_number()
        p = await register_person(registry, tree, identity_number=number)
        q = await register_person(registry, tree)
        admin = tree.admin

        async def post(path: str, body: dict[str, Any], key: str) -> str:
            response = await registry.client.post(path, json=body, headers=admin)
            assert response.status_code == 201, response.text
            value: str = response.json()[key]
            return value

        household = await post(
            "/households",
            {"number": "M-1", "type": "family", "dwelling_id": tree.dwelling,
             "head_person_id": p["person_id"], "on": "2020-01-01"},
            "household_id",
        )  # fmt: skip
        worker = await post(
            "/workers",
            {"account": "w-1", "name": "网格员", "grid_ids": [tree.grid], "on": "2026-01-01"},
            "worker_id",
        )
        visit = await post(
            "/visits",
            {"dwelling_id": tree.dwelling, "visited_at": "2026-01-02T08:00:00+08:00"},
            "visit_id",
        )
        body = "91320111MA1" + "X" * 6
        made = await registry.client.post(
            "/organisations",
            json={"uscc": body + uscc.calc_check_digit(body), "name": "某公司",
                  "kind": "enterprise", "place_id": tree.building, "contact_name": "某经理"},
            headers=admin,
        )  # fmt: skip
        assert made.status_code == 201, made.text
        organisation, contact = made.json()["organisation_id"], made.json()["contact_id"]
        thing = await post(
            "/things",
            {"kind": "hazard_point", "category": "消防通道占用", "name": "楼道杂物",
             "place_id": tree.building},
            "thing_id",
        )  # fmt: skip
        ids = {
            "tree_grid": tree.grid, "tree_unit": tree.unit, "tree_building": tree.building,
            "dwelling": tree.dwelling, "person": p["person_id"], "other_person": q["person_id"],
            "household": household, "worker": worker, "visit": visit,
            "organisation": organisation, "contact": contact, "thing": thing,
        }  # fmt: skip
        yield World(registry, ids, number)


def _path(route: APIRoute, ids: dict[str, str]) -> str:
    place = {"/regrid": ids["tree_building"], "/boundary": ids["tree_grid"]}.get(
        route.path[route.path.rfind("/") :], ids["dwelling"]
    )
    return (
        route.path.replace("{place_id}", place)
        .replace("{person_id}", ids["person"])
        .replace("{household_id}", ids["household"])
        .replace("{worker_id}", ids["worker"])
        .replace("{visit_id}", ids["visit"])
        .replace("{organisation_id}", ids["organisation"])
        .replace("{contact_id}", ids["contact"])
        .replace("{thing_id}", ids["thing"])
        .replace("{tag}", "veteran")
        .replace("{dwelling_id}", ids["dwelling"])
    )


QUERY = {"/places/{place_id}/grid": {"on": "2026-01-01"},
         "/persons/{person_id}/personal-data": {"purpose": "matrix"}}  # fmt: skip


def _valid_body(route: APIRoute, w: World) -> dict[str, Any] | None:
    """A body that would pass validation, so that only scope decides the answer."""
    i = w.ids
    day = {"on": "2026-01-01"}
    bodies: dict[str, dict[str, Any]] = {
        "POST /places": {"kind": "dwelling", "name": "9", "number": "9",
                         "parent_id": i["tree_unit"], "usage": "vacant"},
        "PATCH /places/{place_id}": {"name": "改名"},
        "POST /places/{place_id}/regrid": {"to_grid_id": i["tree_grid"]},
        "PUT /places/{place_id}/usage": {"usage": "vacant"},
        "PUT /places/{place_id}/boundary": {"boundary": {"type": "Polygon", "coordinates": [
            [[118.62, 32.06], [118.63, 32.06], [118.63, 32.07], [118.62, 32.06]]]}},
        "POST /persons": {"name": "某", "identity_number": identity_number(),
                          "hukou_type": "local", "residence_status": "resident",
                          "dwelling_id": i["dwelling"]},
        "POST /persons/lookup": {"identity_number": w.identity_number},
        "DELETE /persons/{person_id}/personal-data": {"legal_ground": "consent_withdrawn"},
        "PUT /persons/{person_id}/details": {"name": "某", "identity_number": w.identity_number,
                                             "hukou_type": "local"},
        "PUT /persons/{person_id}/residence-status": {"residence_status": "floating", **day},
        "POST /persons/{person_id}/move-in": {"dwelling_id": i["dwelling"], **day},
        "POST /persons/{person_id}/move-out": day,
        "POST /persons/{person_id}/dwelling-ties": {"dwelling_id": i["dwelling"],
                                                    "relation": "owner", "since": "2020-01-01"},
        "POST /persons/{person_id}/dwelling-ties/end": {"dwelling_id": i["dwelling"],
                                                        "relation": "owner", **day},
        "POST /persons/{person_id}/tags": {"tag": "veteran", "source": "x",
                                           "valid_from": "2020-01-01"},
        "POST /persons/{person_id}/tags/{tag}/end": {"reason": "x", **day},
        "POST /persons/{person_id}/merge": {"into_person_id": i["other_person"]},
        "POST /persons/{person_id}/duplicates/dismiss": {"other_person_id": i["other_person"]},
        "POST /households": {"number": "M-9", "type": "family", "dwelling_id": i["dwelling"],
                             "head_person_id": i["other_person"], **day},
        "POST /households/{household_id}/members": {"person_id": i["other_person"],
                                                    "relationship": "child", **day},
        "POST /households/{household_id}/members/{person_id}/leave": {"reason": "x", **day},
        "POST /households/{household_id}/head": {"person_id": i["other_person"], **day},
        "POST /workers": {"account": "a", "name": "n", "grid_ids": [i["tree_grid"]], **day},
        "PUT /workers/{worker_id}/grids": {"grid_ids": [i["tree_grid"]], **day},
        "POST /workers/{worker_id}/leave": {"reason": "x", **day},
        "POST /visits": {"dwelling_id": i["dwelling"],
                         "visited_at": "2026-01-01T00:00:00+00:00"},
        "POST /organisations": {"uscc": "91320111MA1XXXXXX" + "0", "name": "n",
                                "kind": "enterprise", "place_id": i["tree_building"]},
        "PATCH /organisations/{organisation_id}": {"name": "n"},
        "POST /organisations/{organisation_id}/move": {"place_id": i["tree_building"]},
        "POST /organisations/{organisation_id}/close": {"reason": "x", **day},
        "DELETE /organisations/{organisation_id}/contacts/{contact_id}": {
            "legal_ground": "consent_withdrawn"
        },
        "POST /things": {"kind": "hazard_point", "category": "c", "name": "n",
                         "place_id": i["tree_building"]},
        "POST /things/{thing_id}/inspections": {"finding": "f", **day},
        "POST /things/{thing_id}/resolve": {"how": "h", **day},
        "POST /things/{thing_id}/remove": {"reason": "r", **day},
    }  # fmt: skip
    return bodies.get(key_of(route))


OUTSIDE = {**MATRIX_OUTSIDE, ANY_DEPARTMENT: ["320111002"]}


async def _call(w: World, route: APIRoute, headers: Mapping[str, str], body: Any) -> httpx.Response:
    method = method_of(route)
    return await w.registry.client.request(
        method,
        _path(route, w.ids),
        params=QUERY.get(route.path),
        json=body if method != "GET" else None,
        headers=headers,
    )


@pytest.mark.parametrize("route", ROUTES, ids=key_of)
async def test_every_role_gets_what_the_matrix_says(world: World, route: APIRoute) -> None:
    await every_role_as_the_matrix_says(
        route,
        lambda headers: _call(world, route, headers, {}),
        lambda caller: matrix_headers(world.registry, caller),
    )
    outsider = next(c for c in OUTSIDE if c in allowed(route))
    headers = matrix_headers(world.registry, outsider, OUTSIDE)
    response = await _call(world, route, headers, _valid_body(route, world))
    if method_of(route) == "GET" and "{" not in route.path:
        assert response.status_code == 200, response.text
        body = response.json()
        rows = body if isinstance(body, list) else body.get("items", body.get("grids"))
        assert rows == [], (outsider, body)
    else:
        assert response.status_code == 404, (outsider, response.text)


def test_the_documented_matrix_is_current() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(ROUTES), "run make docs"
