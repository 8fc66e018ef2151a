"""An area's grids side by side, a grid's households and its open cases, through the API: each
grid's figures are its own dashboard's, and each caller lists only what lies in their places."""

from __future__ import annotations

from typing import Any

from quintet_support import Quintet
from trio_support import eventually, json_of

SUBDISTRICT = "320111001"


async def _listed(q: Quintet, headers: Any) -> dict[str, Any]:
    async def both() -> Any:
        answer = await q.views.client.get(f"/subdistricts/{SUBDISTRICT}/grids", headers=headers)
        found = answer.json() if answer.status_code == 200 else None
        return found if found and len(found["grids"]) == 2 else None

    listed: dict[str, Any] = await eventually(both, what="both grids listed")
    return listed


async def test_each_grid_in_the_list_has_its_own_dashboards_figures(quintet: Quintet) -> None:
    q = quintet
    admin = q.staff()
    listed = await _listed(q, admin)
    assert [g["code"] for g in listed["grids"]] == sorted(g["code"] for g in listed["grids"])
    for grid in listed["grids"]:
        own = await json_of(
            await q.views.client.get(f"/grids/{grid['code']}/dashboard", headers=admin)
        )
        now = own["current"]
        assert (grid["living"], grid["tickets"], grid["open_cases"], grid["care_missed"]) == (
            now["residents"]["living"], now["hotline"]["tickets"], now["cases"]["open"],
            now["care"]["missed"],
        )  # fmt: skip
        assert grid["complaint_rate"] == now["hotline"]["complaint_rate"]
    mine = next(g for g in listed["grids"] if g["code"] == q.trio.tree.grid_code)
    assert mine["worker"] == "张伟"


async def test_a_caller_lists_the_grids_in_their_places_and_analysts_no_names(
    quintet: Quintet,
) -> None:
    q, tree = quintet, quintet.trio.tree
    await _listed(q, q.staff())
    worker = q.staff("grid_worker", [tree.grid_code])
    theirs = await json_of(
        await q.views.client.get(f"/subdistricts/{SUBDISTRICT}/grids", headers=worker)
    )
    assert [g["code"] for g in theirs["grids"]] == [tree.grid_code]
    analyst = q.staff("analyst", [SUBDISTRICT])
    seen = await json_of(
        await q.views.client.get(f"/subdistricts/{SUBDISTRICT}/grids", headers=analyst)
    )
    assert len(seen["grids"]) == 2 and all(g["worker"] is None for g in seen["grids"])
    outside = q.staff("grid_worker", ["320111002-001-001"])
    refused = await q.views.client.get(f"/subdistricts/{SUBDISTRICT}/grids", headers=outside)
    assert refused.status_code == 404


async def test_a_grids_lists_are_404_for_a_code_that_is_no_grid(quintet: Quintet) -> None:
    admin = quintet.staff()
    for path in ("households", "cases"):
        community = quintet.trio.tree.community_code
        answer = await quintet.views.client.get(f"/grids/{community}/{path}", headers=admin)
        assert answer.status_code == 404
        assert answer.json()["errors"][0]["field"] == "code"
