"""Organisations' and things' rules: given their events, when a command, then events or an error."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

import pytest
from stdnum.cn import uscc

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealing import KeyRing, Sealed
from wangge.governance.erasure import ErasureGround
from wangge.registry.domain import organisations, things
from wangge.registry.domain.identity import InvalidPersonalData
from wangge.registry.domain.organisations import (
    ContactDetails,
    ContactKey,
    ContactKeys,
    InvalidOrganisation,
    Organisation,
    OrganisationClosed,
    OrganisationContactErased,
    OrganisationDetailsChanged,
    OrganisationKind,
    OrganisationMoved,
    OrganisationRegistered,
    UnknownContact,
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


KEYS: dict[uuid.UUID, bytes] = {}
"""The data keys the tests' contacts were sealed with, by contact id (the handler's key ring)."""


def contact_key() -> ContactKey:
    """A new contact person's key, remembered in ``KEYS``."""
    contact_id, key = uuid.uuid4(), KeyRing.generate()
    KEYS[contact_id] = key
    return ContactKey(contact_id, KeyRing.sealer(key, contact_id))


def opened(sealed: Sealed | None) -> ContactDetails:
    assert sealed is not None
    return ContactDetails.model_validate(KeyRing.unseal(KEYS[uuid.UUID(sealed.key)], sealed))


def keys_for(o: Organisation) -> ContactKeys:
    """What the handler gives a decision on ``o``: its contact opened, and both sealers."""
    current = None
    if o.contact_id is not None and not o.contact_erased:
        current = opened(o.contact) if o.contact is not None else o.legacy_contact
    if o.contact_id is not None and o.contact_id not in KEYS:
        KEYS[o.contact_id] = KeyRing.generate()  # a contact from before sealing: a fresh key
    same = KeyRing.sealer(KEYS[o.contact_id], o.contact_id) if o.contact_id else None
    return ContactKeys(current=current, same=same, new=contact_key())


def organisation(**fields: Any) -> Organisation:
    events = organisations.register(
        organisation_id=uuid.uuid4(),
        uscc=fields.pop("uscc", code()),
        name=fields.pop("name", "滨江便利店"),
        kind=fields.pop("kind", OrganisationKind.INDIVIDUAL_BUSINESS),
        place=fields.pop("place", place(PlaceKind.BUILDING)),
        contact_key=contact_key(),
        **fields,
    )
    return fold(organisations.evolve, *events)


def legacy(**contact: str) -> Organisation:
    """An organisation registered before contacts were sealed: its contact in clear."""
    organisation_id = uuid.uuid4()
    event = OrganisationRegistered(
        organisation_id=organisation_id, uscc=code(), name="老店",
        kind=OrganisationKind.INDIVIDUAL_BUSINESS, place_id=uuid.uuid4(), **contact,
    )  # fmt: skip
    return organisations.evolve(None, event, 1)


def restate(o: Organisation, **fields: Any) -> list[organisations.OrganisationEvent]:
    """New details of ``o``: the contact as the handler restates it unless given."""
    keys = keys_for(o)
    was = keys.current or ContactDetails()
    return organisations.change_details(
        o, name=fields.pop("name", o.name), kind=fields.pop("kind", o.kind),
        address=fields.pop("address", o.address),
        contact_name=fields.pop("contact_name", was.name),
        contact_phone=fields.pop("contact_phone", was.phone), keys=keys,
    )  # fmt: skip


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
        contact_name="王老板", contact_phone="138 1234 5678", contact_key=contact_key(),
    )  # fmt: skip
    assert isinstance(event, OrganisationRegistered)
    assert event.uscc == valid
    assert event.name == "滨江便利店"
    assert event.place_id == shop.place_id


def test_a_contact_person_travels_sealed_under_their_own_key_with_masks_in_clear() -> None:
    key = contact_key()
    [event] = organisations.register(
        organisation_id=uuid.uuid4(), uscc=code(), name="滨江便利店",
        kind=OrganisationKind.INDIVIDUAL_BUSINESS, place=place(PlaceKind.BUILDING),
        contact_name="王老板", contact_phone="+86 138 1234 5678", contact_key=key,
    )  # fmt: skip
    assert isinstance(event, OrganisationRegistered)
    assert (event.contact_name, event.contact_phone) == (None, None)
    assert (event.contact_id, event.contact_name_masked, event.contact_phone_masked) == (
        key.contact_id, "王**", "138****5678",
    )  # fmt: skip
    assert opened(event.contact) == ContactDetails(name="王老板", phone="+8613812345678")
    clear = event.model_dump_json()
    assert "王老板" not in clear and "12345678" not in clear
    with pytest.raises(ValueError, match="sealed under their key"):
        organisations.register(
            organisation_id=uuid.uuid4(), uscc=code(), name="x", kind=OrganisationKind.OTHER,
            place=place(PlaceKind.BUILDING), contact_name="王老板",
        )  # fmt: skip
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
    shop = organisation(contact_name="王老板", contact_phone="13812345678")
    assert restate(shop, contact_phone="+86 138 1234 5678") == []
    assert restate(shop) == []
    [changed] = restate(shop, name="滨江超市", kind=OrganisationKind.ENTERPRISE, contact_phone=None)
    assert isinstance(changed, OrganisationDetailsChanged)
    after = organisations.evolve(shop, changed, 2)
    assert (after.name, after.kind, after.contact_phone_masked, after.version) == (
        "滨江超市", OrganisationKind.ENTERPRISE, None, 2,
    )  # fmt: skip
    assert after.contact_id == shop.contact_id, "the same name is the same person"
    assert opened(after.contact) == ContactDetails(name="王老板")


def test_another_contact_person_gets_a_key_of_their_own_and_none_clears_the_contact() -> None:
    shop = organisation(contact_name="王老板", contact_phone="13812345678")
    [changed] = restate(shop, contact_name="李店长")
    assert isinstance(changed, OrganisationDetailsChanged)
    after = organisations.evolve(shop, changed, 2)
    assert after.contact_id != shop.contact_id
    assert after.contacts == {shop.contact_id, after.contact_id}
    assert opened(after.contact) == ContactDetails(name="李店长", phone="+8613812345678")
    [cleared] = restate(after, contact_name=None, contact_phone=None)
    assert isinstance(cleared, OrganisationDetailsChanged)
    assert (cleared.contact_id, cleared.contact, cleared.contact_name_masked) == (None, None, None)


def test_a_contact_is_erased_once_current_or_former_and_an_unknown_one_is_not_found() -> None:
    shop = organisation(contact_name="王老板", contact_phone="13812345678")
    ground = ErasureGround.CONSENT_WITHDRAWN
    [erased] = organisations.erase_contact(shop, shop.contact_id or uuid.uuid4(), ground)
    assert isinstance(erased, OrganisationContactErased)
    assert erased.legal_ground == ground
    gone = organisations.evolve(shop, erased, 2)
    assert gone.contact_erased and gone.contact_name_masked == "王**"
    assert organisations.erase_contact(gone, erased.contact_id, ground) == []
    with pytest.raises(UnknownContact) as unknown:
        organisations.erase_contact(gone, uuid.uuid4(), ground)
    assert (unknown.value.status, unknown.value.field) == (404, "contact_id")
    # an erased contact restated as they were stays erased; a new one is another person
    assert restate(gone) == []
    [renamed] = restate(gone, name="新店名")
    assert isinstance(renamed, OrganisationDetailsChanged)
    assert organisations.evolve(gone, renamed, 3).contact_erased
    [replaced] = restate(gone, contact_name="李店长")
    assert isinstance(replaced, OrganisationDetailsChanged)
    later = organisations.evolve(gone, replaced, 3)
    assert not later.contact_erased and later.contact_id != erased.contact_id
    assert organisations.erase_contact(later, erased.contact_id, ground) == [], "a former one"


def test_a_contact_from_before_sealing_is_erasable_and_sealed_when_restated() -> None:
    old = legacy(contact_name="赵会计", contact_phone="+8613900001111")
    contact_id = organisations.legacy_contact_id(old.organisation_id)
    assert (old.contact_id, old.contact, old.contact_name_masked) == (contact_id, None, "赵**")
    assert old.legacy_contact == ContactDetails(name="赵会计", phone="+8613900001111")
    [sealed] = restate(old, name="老店新名")
    assert isinstance(sealed, OrganisationDetailsChanged)
    assert (sealed.contact_name, sealed.contact_phone, sealed.contact_id) == (
        None, None, contact_id,
    )  # fmt: skip
    assert opened(sealed.contact) == ContactDetails(name="赵会计", phone="+8613900001111")
    after = organisations.evolve(old, sealed, 2)
    assert after.legacy_contact is None and restate(after) == []
    [erased] = organisations.erase_contact(old, contact_id, ErasureGround.PURPOSE_ACHIEVED)
    gone = organisations.evolve(old, erased, 2)
    assert gone.legacy_contact is None and gone.contact_erased
    [renamed] = restate(gone, name="老店新名")
    assert isinstance(renamed, OrganisationDetailsChanged)
    assert (renamed.contact, renamed.contact_name, renamed.contact_id) == (None, None, contact_id)


def test_a_closing_reason_keeps_only_its_redacted_copy() -> None:
    [closed] = organisations.close(organisation(), on=TODAY, reason="歇业, 联系 13812345678")
    assert isinstance(closed, OrganisationClosed)
    assert closed.reason == "歇业, 联系 138****5678"


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
        lambda: restate(gone, name="x"),
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


def test_free_text_about_a_thing_keeps_only_its_redacted_copy() -> None:
    hazard = thing(description="堆物, 房东 13812345678")
    [inspected] = things.inspect(hazard, on=TODAY, finding="房东 +86 139 0000 1111 未清理")
    [resolved] = things.resolve(hazard, on=TODAY, how="已清理, 车牌苏A12345 已挪走")
    [removed] = things.remove(hazard, on=TODAY, reason="归档 a.wang@example.com")
    assert isinstance(inspected, ThingInspected) and isinstance(resolved, HazardResolved)
    assert isinstance(removed, ThingRemoved)
    assert (inspected.finding, resolved.how, removed.reason) == (
        "房东 139****1111 未清理", "已清理, 车牌苏A·****5 已挪走", "归档 a***@example.com",
    )  # fmt: skip
    registered = things.register(
        thing_id=uuid.uuid4(), kind=ThingKind.HAZARD_POINT, category="c", name="n",
        place=place(PlaceKind.UNIT), description=" 房东 13812345678 ",
        risk_level=RiskLevel.LOW,
    )  # fmt: skip
    assert [e.description for e in registered if isinstance(e, ThingRegistered)] == [
        "房东 138****5678"
    ]
