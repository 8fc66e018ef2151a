"""Organisations' and things' rules: given their events, when a command, then events or an error."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import pytest
from stdnum.cn import uscc

from wangge.events import DomainEvent, default_catalogue
from wangge.registry.domain import organisations, things
from wangge.registry.domain.identity import InvalidPersonalData
from wangge.registry.domain.organisations import (
    InvalidOrganisation,
    Organisation,
    OrganisationClosed,
    OrganisationDetailsChanged,
    OrganisationKind,
    OrganisationMoved,
    OrganisationRegistered,
)
from wangge.registry.domain.places import DwellingUsage, Place, PlaceKind
from wangge.registry.domain.things import (
    HazardResolved,
    InvalidThing,
    RiskLevel,
    Thing,
    ThingInspected,
    ThingKind,
    ThingRegistered,
    ThingRemoved,
    ThingStatus,
)

S = TypeVar("S")
TODAY = date(2026, 3, 1)


def code(body: str = "91320111MA1X2Y3P4") -> str:
    """A valid unified social credit code: 17 characters and their check character."""
    # calc_check_digit weighs the first 17 characters only (it zips them with 17 weights)
    return body + uscc.calc_check_digit(body)


def fold(evolve: Callable[[S | None, DomainEvent, int], S], *events: DomainEvent) -> S:
    state: S | None = None
    for version, event in enumerate(events, start=1):
        state = evolve(state, event, version)
    assert state is not None
    return state


def place(kind: PlaceKind) -> Place:
    usage = DwellingUsage.BUSINESS if kind == PlaceKind.DWELLING else None
    return Place(uuid.uuid4(), kind, f"a {kind}", None, "1", uuid.uuid4(), usage, 1)


def organisation(**fields: Any) -> Organisation:
    events = organisations.register(
        organisation_id=uuid.uuid4(),
        uscc=fields.pop("uscc", code()),
        name=fields.pop("name", "滨江便利店"),
        kind=fields.pop("kind", OrganisationKind.INDIVIDUAL_BUSINESS),
        place=fields.pop("place", place(PlaceKind.BUILDING)),
        **fields,
    )
    return fold(organisations.evolve, *events)


def thing(kind: ThingKind = ThingKind.HAZARD_POINT, **fields: Any) -> Thing:
    events = things.register(
        thing_id=uuid.uuid4(),
        kind=kind,
        category=fields.pop("category", "消防通道占用"),
        name=fields.pop("name", "12栋楼道堆物"),
        place=fields.pop("place", place(PlaceKind.UNIT)),
        **fields,
    )
    return fold(things.evolve, *events)


# -- organisations --------------------------------------------------------------------------------


def test_a_registration_keeps_the_compact_code_and_a_normalised_phone() -> None:
    valid = code()
    typed = f"{valid[:2]} {valid[2:8]}-{valid[8:]}".lower()
    shop = place(PlaceKind.DWELLING)
    [event] = organisations.register(
        organisation_id=uuid.uuid4(), uscc=typed, name=" 滨江便利店 ",
        kind=OrganisationKind.INDIVIDUAL_BUSINESS, place=shop, address="滨江路1号",
        contact_name="王老板", contact_phone="138 1234 5678",
    )  # fmt: skip
    assert isinstance(event, OrganisationRegistered)
    assert event.uscc == valid
    assert event.name == "滨江便利店"
    assert event.contact_phone == "+8613812345678"
    assert event.place_id == shop.place_id
    assert default_catalogue.entry_of(OrganisationRegistered).type == (
        "wangge.registry.OrganisationRegistered"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("91320111MA1X2Y3Z", "18 characters"),
        ("A1320111MA1X2Y3Z40", "8 digits"),
        ("91320111MA1X2Y3ZI0", "no I, O, S, V, Z"),
        (code()[:-1] + ("0" if code()[-1] != "0" else "1"), "check character"),
    ],
)
def test_a_bad_unified_social_credit_code_is_refused_naming_the_field(
    text: str, message: str
) -> None:
    with pytest.raises(InvalidOrganisation, match=message) as refused:
        organisation(uscc=text)
    assert refused.value.field == "uscc"
    assert refused.value.status == 422


def test_the_published_example_code_is_valid() -> None:
    assert organisations.check_uscc("91110000600037341L") == "91110000600037341L"
    assert organisations.compact_uscc("9111 0000-6000 37341l") == "91110000600037341L"


def test_a_bad_contact_phone_names_its_field() -> None:
    with pytest.raises(InvalidPersonalData) as refused:
        organisation(contact_phone="12345")
    assert refused.value.field == "contact_phone"


@pytest.mark.parametrize("kind", [PlaceKind.SUBDISTRICT, PlaceKind.COMMUNITY, PlaceKind.UNIT])
def test_an_organisation_sits_at_a_grid_building_or_dwelling(kind: PlaceKind) -> None:
    with pytest.raises(InvalidOrganisation) as refused:
        organisation(place=place(kind))
    assert refused.value.field == "place_id"
    for site in (PlaceKind.GRID, PlaceKind.BUILDING, PlaceKind.DWELLING):
        assert organisation(place=place(site)).kind == OrganisationKind.INDIVIDUAL_BUSINESS


def test_new_details_are_restated_and_the_same_details_change_nothing() -> None:
    shop = organisation(contact_phone="13812345678")
    same = organisations.change_details(
        shop, name=shop.name, kind=shop.kind, address=None, contact_name=None,
        contact_phone="+86 138 1234 5678",
    )  # fmt: skip
    assert same == []
    [changed] = organisations.change_details(
        shop, name="滨江超市", kind=OrganisationKind.ENTERPRISE, address=None, contact_name="李",
        contact_phone=None,
    )  # fmt: skip
    assert isinstance(changed, OrganisationDetailsChanged)
    after = organisations.evolve(shop, changed, 2)
    assert (after.name, after.kind, after.contact_phone, after.version) == (
        "滨江超市", OrganisationKind.ENTERPRISE, None, 2,
    )  # fmt: skip


def test_a_move_goes_to_another_site_and_the_same_place_changes_nothing() -> None:
    shop = organisation()
    assert organisations.move(shop, place(PlaceKind.BUILDING)) != []
    here = Place(shop.place_id, PlaceKind.BUILDING, "12栋", None, "12栋", None, None, 1)
    assert organisations.move(shop, here) == []
    with pytest.raises(InvalidOrganisation):
        organisations.move(shop, place(PlaceKind.COMMUNITY))
    [moved] = organisations.move(shop, place(PlaceKind.GRID))
    assert isinstance(moved, OrganisationMoved)


def test_a_closed_organisation_cannot_change() -> None:
    shop = organisation()
    [closed] = organisations.close(shop, on=TODAY, reason="歇业")
    assert isinstance(closed, OrganisationClosed)
    gone = organisations.evolve(shop, closed, 2)
    assert gone.closed and gone.closed_on == TODAY
    attempts: list[Callable[[], object]] = [
        lambda: organisations.close(gone, on=TODAY, reason="again"),
        lambda: organisations.move(gone, place(PlaceKind.BUILDING)),
        lambda: organisations.change_details(
            gone, name="x", kind=gone.kind, address=None, contact_name=None, contact_phone=None
        ),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidOrganisation, match="closed") as refused:
            attempt()
        assert refused.value.field == "organisation_id"


def test_an_organisation_stream_starts_with_its_registration() -> None:
    assert organisations.stream_id(uuid.UUID(int=1)) == f"organisation-{uuid.UUID(int=1)}"
    with pytest.raises(ValueError, match="before OrganisationRegistered"):
        organisations.evolve(
            None, OrganisationClosed(organisation_id=uuid.uuid4(), on=TODAY, reason="x"), 1
        )


# -- things ---------------------------------------------------------------------------------------


def test_a_hazard_point_is_inspected_reassessed_and_resolved() -> None:
    hazard = thing(risk_level=RiskLevel.MEDIUM, description=" 楼道堆放杂物 ")
    assert (hazard.status, hazard.risk_level) == (ThingStatus.OPEN, RiskLevel.MEDIUM)
    [inspected] = things.inspect(
        hazard, on=date(2026, 3, 2), finding="杂物增多", risk_level=RiskLevel.HIGH
    )
    assert isinstance(inspected, ThingInspected)
    hazard = things.evolve(hazard, inspected, 2)
    assert (hazard.risk_level, hazard.last_inspected_on) == (RiskLevel.HIGH, date(2026, 3, 2))
    [earlier] = things.inspect(hazard, on=date(2026, 2, 1), finding="补录")
    hazard = things.evolve(hazard, earlier, 3)
    assert (hazard.risk_level, hazard.last_inspected_on) == (RiskLevel.HIGH, date(2026, 3, 2))
    [resolved] = things.resolve(hazard, on=date(2026, 3, 5), how="已清理")
    assert isinstance(resolved, HazardResolved)
    hazard = things.evolve(hazard, resolved, 4)
    assert hazard.status == ThingStatus.RESOLVED
    with pytest.raises(InvalidThing, match="resolved") as refused:
        things.inspect(hazard, on=date(2026, 3, 6), finding="复查")
    assert refused.value.field == "thing_id"
    with pytest.raises(InvalidThing):
        things.resolve(hazard, on=date(2026, 3, 6), how="again")
    [removed] = things.remove(hazard, on=date(2026, 4, 1), reason="归档")
    assert things.evolve(hazard, removed, 5).status == ThingStatus.REMOVED


def test_only_hazard_points_have_risk_levels_and_are_resolved() -> None:
    with pytest.raises(InvalidThing) as refused:
        thing(ThingKind.KEY_FACILITY, category="加油站", risk_level=RiskLevel.LOW)
    assert refused.value.field == "risk_level"
    station = thing(ThingKind.KEY_FACILITY, category="加油站", place=place(PlaceKind.BUILDING))
    assert station.risk_level is None
    with pytest.raises(InvalidThing) as refused:
        things.inspect(station, on=TODAY, finding="正常", risk_level=RiskLevel.LOW)
    assert refused.value.field == "risk_level"
    with pytest.raises(InvalidThing, match="only a hazard point"):
        things.resolve(station, on=TODAY, how="x")
    [inspected] = things.inspect(station, on=TODAY, finding="正常")
    assert things.evolve(station, inspected, 2).last_inspected_on == TODAY


def test_a_removed_thing_is_not_inspected_or_removed_again() -> None:
    station = thing(ThingKind.KEY_FACILITY, category="燃气管道")
    [removed] = things.remove(station, on=TODAY, reason="管道改线")
    assert isinstance(removed, ThingRemoved)
    gone = things.evolve(station, removed, 2)
    with pytest.raises(InvalidThing, match="removed"):
        things.inspect(gone, on=TODAY, finding="x")
    with pytest.raises(InvalidThing, match="removed already"):
        things.remove(gone, on=TODAY, reason="x")


def test_a_thing_is_at_a_place_below_the_community_with_an_open_organisation() -> None:
    with pytest.raises(InvalidThing) as refused:
        thing(place=place(PlaceKind.COMMUNITY))
    assert refused.value.field == "place_id"
    company = organisation(kind=OrganisationKind.ENTERPRISE)
    main = thing(ThingKind.KEY_FACILITY, category="燃气管道", responsible=company)
    assert main.responsible_organisation_id == company.organisation_id
    closed = organisations.evolve(
        company,
        OrganisationClosed(organisation_id=company.organisation_id, on=TODAY, reason="注销"),
        2,
    )
    with pytest.raises(InvalidThing) as refused:
        thing(ThingKind.KEY_FACILITY, responsible=closed)
    assert refused.value.field == "responsible_organisation_id"
    with pytest.raises(InvalidThing) as refused:
        thing(category=" ")
    assert refused.value.field == "category"


def test_a_thing_stream_starts_with_its_registration() -> None:
    assert things.stream_id(uuid.UUID(int=2)) == f"thing-{uuid.UUID(int=2)}"
    event = ThingRegistered(
        thing_id=uuid.uuid4(), kind=ThingKind.HAZARD_POINT, category="飞线充电", name="5栋飞线",
        place_id=uuid.uuid4(),
    )  # fmt: skip
    assert fold(things.evolve, event).risk_level is None
    with pytest.raises(ValueError, match="before ThingRegistered"):
        things.evolve(None, ThingRemoved(thing_id=uuid.uuid4(), on=TODAY, reason="x"), 1)
