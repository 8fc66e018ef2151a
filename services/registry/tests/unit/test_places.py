"""The place tree's rules: given a place's events, when a command, then events or an error."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from geojson_pydantic import MultiPolygon, Polygon

from wangge.events import DomainEvent, default_catalogue
from wangge.registry.domain.places import (
    BuildingRegridded,
    DwellingUsage,
    DwellingUsageChanged,
    GridBoundaryDrawn,
    InvalidPlace,
    Place,
    PlaceKind,
    PlaceRegistered,
    PlaceRenamed,
    change_usage,
    draw_boundary,
    evolve,
    register,
    regrid,
    rename,
)


def given(*events: DomainEvent) -> Place:
    state: Place | None = None
    for version, event in enumerate(events, start=1):
        state = evolve(state, event, version)
    assert state is not None
    return state


def place(kind: PlaceKind, parent: Place | None = None, **fields: Any) -> Place:
    [event] = register(place_id=uuid.uuid4(), kind=kind, name=f"a {kind}", parent=parent, **fields)
    return given(event)


@pytest.fixture
def tree() -> dict[str, Place]:
    subdistrict = place(PlaceKind.SUBDISTRICT, code="320111001")
    community = place(PlaceKind.COMMUNITY, subdistrict, code="320111001-003")
    grid = place(PlaceKind.GRID, community, code="320111001-003-004")
    building = place(PlaceKind.BUILDING, grid, number="12栋")
    unit = place(PlaceKind.UNIT, building, number="2单元")
    dwelling = place(PlaceKind.DWELLING, unit, number="1201", usage=DwellingUsage.RENTED)
    return {"subdistrict": subdistrict, "community": community, "grid": grid,
            "building": building, "unit": unit, "dwelling": dwelling}  # fmt: skip


def test_a_whole_branch_of_the_tree_registers(tree: dict[str, Place]) -> None:
    assert tree["grid"].code == "320111001-003-004"
    assert tree["dwelling"].parent_id == tree["unit"].place_id
    assert tree["dwelling"].usage == DwellingUsage.RENTED


def test_a_dwelling_may_hang_from_a_building_without_units(tree: dict[str, Place]) -> None:
    shop = place(PlaceKind.DWELLING, tree["building"], number="底商1", usage=DwellingUsage.BUSINESS)
    assert shop.parent_id == tree["building"].place_id


@pytest.mark.parametrize(
    ("kind", "parent", "fields", "field", "message"),
    [
        (PlaceKind.SUBDISTRICT, None, {"code": "32011100"}, "code", "9 digits"),
        (PlaceKind.SUBDISTRICT, None, {"code": "990111001"}, "code", "no province code"),
        (PlaceKind.COMMUNITY, "subdistrict", {"code": "320111002-003"}, "code", "extends"),
        (PlaceKind.COMMUNITY, "subdistrict", {"code": "320111001-000"}, "code", "start at 001"),
        (PlaceKind.GRID, "subdistrict", {"code": "320111001-003-001"}, "parent_id", "community"),
        (PlaceKind.GRID, None, {"code": "320111001-003-001"}, "parent_id", "needs a parent"),
        (PlaceKind.SUBDISTRICT, "grid", {"code": "320111001"}, "parent_id", "root"),
        (PlaceKind.BUILDING, "grid", {"number": " "}, "number", "needs its number"),
        (PlaceKind.BUILDING, "grid", {"number": "1", "code": "x"}, "code", "not a code"),
        (
            PlaceKind.GRID,
            "community",
            {"code": "320111001-003-009", "number": "9"},
            "number",
            "not a number",
        ),
        (PlaceKind.DWELLING, "unit", {"number": "101"}, "usage", "only a dwelling"),
        (
            PlaceKind.UNIT,
            "building",
            {"number": "1", "usage": DwellingUsage.VACANT},
            "usage",
            "only a dwelling",
        ),
    ],
)
def test_places_that_break_the_tree_are_refused_naming_the_field(
    tree: dict[str, Place],
    kind: PlaceKind,
    parent: str | None,
    fields: dict[str, Any],
    field: str,
    message: str,
) -> None:
    with pytest.raises(InvalidPlace, match=message) as refused:
        register(
            place_id=uuid.uuid4(),
            kind=kind,
            name="x",
            parent=tree[parent] if parent else None,
            **fields,
        )
    assert refused.value.field == field
    assert refused.value.status == 422


def test_renaming_keeps_identity_and_a_same_name_is_no_change(tree: dict[str, Place]) -> None:
    grid = tree["grid"]
    [renamed] = rename(grid, "滨江第四网格")
    assert renamed == PlaceRenamed(place_id=grid.place_id, name="滨江第四网格")
    assert rename(evolve(grid, renamed, grid.version + 1), "滨江第四网格") == []


def test_a_building_is_regridded_and_keeps_its_identity(tree: dict[str, Place]) -> None:
    other_grid = place(PlaceKind.GRID, tree["community"], code="320111001-003-005")
    building = tree["building"]
    [moved] = regrid(building, other_grid)
    assert moved == BuildingRegridded(place_id=building.place_id,
                                      from_grid_id=tree["grid"].place_id,
                                      to_grid_id=other_grid.place_id)  # fmt: skip
    after = evolve(building, moved, building.version + 1)
    assert (after.place_id, after.parent_id) == (building.place_id, other_grid.place_id)
    assert regrid(after, other_grid) == []


def test_only_buildings_move_and_only_into_grids(tree: dict[str, Place]) -> None:
    with pytest.raises(InvalidPlace, match="only buildings"):
        regrid(tree["unit"], tree["grid"])
    with pytest.raises(InvalidPlace, match="moves to a grid"):
        regrid(tree["building"], tree["community"])


def test_a_dwelling_changes_its_usage(tree: dict[str, Place]) -> None:
    dwelling = tree["dwelling"]
    [changed] = change_usage(dwelling, DwellingUsage.VACANT)
    assert changed == DwellingUsageChanged(place_id=dwelling.place_id, usage=DwellingUsage.VACANT)
    assert change_usage(dwelling, DwellingUsage.RENTED) == []
    with pytest.raises(InvalidPlace):
        change_usage(tree["building"], DwellingUsage.VACANT)


def test_place_events_are_in_the_catalogue_with_the_registry_as_source() -> None:
    models = (PlaceRegistered, PlaceRenamed, BuildingRegridded, DwellingUsageChanged)
    for model in (*models, GridBoundaryDrawn):
        entry = default_catalogue.entry_of(model)
        assert entry.type == f"wangge.registry.{model.__name__}"


def square(west: float = 118.62, south: float = 32.06, side: float = 0.01) -> Polygon:
    ring = [[west, south], [west + side, south], [west + side, south + side],
            [west, south + side], [west, south]]  # fmt: skip
    return Polygon.model_validate({"type": "Polygon", "coordinates": [ring]})


def test_a_grid_registered_without_a_boundary_gets_one_drawn_later(
    tree: dict[str, Place],
) -> None:
    grid = tree["grid"]
    assert grid.boundary is None
    [drawn] = draw_boundary(grid, square())
    assert drawn == GridBoundaryDrawn(place_id=grid.place_id, boundary=square())
    after = evolve(grid, drawn, grid.version + 1)
    assert (after.boundary, after.version) == (square(), grid.version + 1)


def test_a_redrawn_boundary_replaces_the_old_and_the_same_again_changes_nothing(
    tree: dict[str, Place],
) -> None:
    grid = place(PlaceKind.GRID, tree["community"], code="320111001-003-005", boundary=square())
    assert draw_boundary(grid, square()) == []
    [redrawn] = draw_boundary(grid, square(side=0.02))
    assert evolve(grid, redrawn, grid.version + 1).boundary == square(side=0.02)


@pytest.mark.parametrize("kind", ["community", "building", "dwelling"])
def test_only_a_grid_has_a_boundary_drawn(tree: dict[str, Place], kind: str) -> None:
    with pytest.raises(InvalidPlace, match="only a grid has a boundary") as refused:
        draw_boundary(tree[kind], square())
    assert (refused.value.field, refused.value.status) == ("boundary", 422)


OUTSIDE_WGS_84: dict[str, Polygon | MultiPolygon] = {
    "longitude past 180": square(west=179.995),
    "latitude past 90": square(south=89.995),
    "latitude and longitude swapped": square(west=32.06, south=118.62),
    "metres, not degrees": square(west=668_000.0, south=3_549_000.0, side=500.0),
    "the second polygon of several": MultiPolygon.model_validate(
        {"type": "MultiPolygon",
         "coordinates": [square().coordinates, square(west=-181.0).coordinates]}
    ),
}  # fmt: skip


@pytest.mark.parametrize("boundary", OUTSIDE_WGS_84.values(), ids=list(OUTSIDE_WGS_84))
def test_a_boundary_outside_wgs_84_is_refused_when_registered_and_when_drawn(
    tree: dict[str, Place], boundary: Polygon | MultiPolygon
) -> None:
    with pytest.raises(InvalidPlace, match="outside WGS 84") as refused:
        register(place_id=uuid.uuid4(), kind=PlaceKind.GRID, name="x", parent=tree["community"],
                 code="320111001-003-009", boundary=boundary)  # fmt: skip
    assert refused.value.field == "boundary"
    with pytest.raises(InvalidPlace, match="outside WGS 84") as refused:
        draw_boundary(tree["grid"], boundary)
    assert refused.value.field == "boundary"


def test_the_refusal_names_the_point_outside_wgs_84(tree: dict[str, Place]) -> None:
    with pytest.raises(InvalidPlace, match=r"polygon 2, ring 1, point 1 \(-181.0, 32.06\)"):
        draw_boundary(tree["grid"], OUTSIDE_WGS_84["the second polygon of several"])


def test_a_boundary_on_the_edges_of_wgs_84_is_drawn(tree: dict[str, Place]) -> None:
    edge = Polygon.model_validate(
        {"type": "Polygon",
         "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]]}
    )  # fmt: skip
    assert len(draw_boundary(tree["grid"], edge)) == 1


@pytest.mark.parametrize(
    ("code", "unknown"),
    [("329999001", "329999 is no county"), ("320000001", "320000 is no county"),
     ("110000000", "110000 is no county"), ("990101001", "99 is no province")],
)  # fmt: skip
def test_a_subdistrict_code_names_a_county_of_gb_t_2260(code: str, unknown: str) -> None:
    with pytest.raises(InvalidPlace) as refused:
        register(
            place_id=uuid.uuid4(), kind=PlaceKind.SUBDISTRICT, name="某街道", code=code,
            parent=None,
        )  # fmt: skip
    assert refused.value.field == "code" and unknown in str(refused.value)
