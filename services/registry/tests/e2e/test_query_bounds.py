"""Extreme query parameters (a fuzzer's favourites) are refused naming the parameter, never a
500 from an overflow in the database or in date arithmetic."""

from __future__ import annotations

from registry_support import Registry, build_tree, register_household, register_person

LISTS = [
    "/persons", "/households", "/organisations", "/places", "/things", "/visits", "/needs",
    "/workers",
]  # fmt: skip
INT64_MAX = str(2**63 - 1)


async def test_a_page_whose_offset_would_overflow_is_refused_on_every_list(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    for path in LISTS:
        for params in ({"page": INT64_MAX}, {"page": "99999999999999999999"}, {"size": "201"}):
            response = await registry.client.get(path, params=params, headers=tree.admin)
            assert response.status_code == 422, (path, params, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            [(name, _)] = params.items()
            assert [e["field"] for e in response.json()["errors"]] == [f"query/{name}"]
        last = await registry.client.get(
            path, params={"page": "10000", "size": "200"}, headers=tree.admin
        )
        assert last.status_code == 200, (path, last.text)
        assert last.json()["items"] == []


async def test_a_time_at_the_edges_of_the_calendar_is_refused_naming_the_field(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    person = await register_person(registry, tree)
    household = await register_household(registry, tree, person["person_id"], number="H-edge")
    reads = [
        (f"/households/{household['household_id']}", "known_at"),
        (f"/places/{tree.dwelling}/residents", "known_at"),
        ("/visits", "since"),
        ("/needs", "since"),
    ]
    for path, name in reads:
        for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
            response = await registry.client.get(path, params={name: moment}, headers=tree.admin)
            assert response.status_code == 422, (path, moment, response.text)
            assert [e["field"] for e in response.json()["errors"]] == [f"query/{name}"]
        fine = await registry.client.get(
            path, params={name: "2026-01-01T00:00:00+08:00"}, headers=tree.admin
        )
        assert fine.status_code == 200, (path, fine.text)
