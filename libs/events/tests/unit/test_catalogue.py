"""The catalogue maps names, models and versions, and upcasts old data to the newest version."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from wangge.events import Catalogue, DomainEvent, EventValidationError, UnknownEventType
from wangge.events.catalogue import dataschema_for, version_from_dataschema

from events_samples import Counted, HouseholdRegistered, MemberAdded, catalogue


def test_an_event_type_is_named_by_service_and_class() -> None:
    entry = catalogue.entry_of(HouseholdRegistered)
    assert entry.type == "wangge.sample.HouseholdRegistered"
    assert entry.source == "/wangge/sample"
    assert entry.dataschema == "urn:wangge:schema:wangge.sample.HouseholdRegistered:1"
    assert catalogue.entry("wangge.sample.HouseholdRegistered") is entry


def test_dataschema_carries_the_version() -> None:
    assert version_from_dataschema(dataschema_for("wangge.x.Y", 3)) == 3
    with pytest.raises(ValueError, match="not a Wangge dataschema"):
        version_from_dataschema("https://example.org/schema.json")


def test_one_type_name_cannot_be_registered_to_two_models() -> None:
    local = Catalogue()
    local.register(Counted, service="s")

    class Counted2(DomainEvent):
        n: int

    with pytest.raises(ValueError, match="already registered"):
        local.register(Counted2, service="s", name="Counted")


def test_old_data_is_upcast_step_by_step_to_the_newest_version() -> None:
    local = Catalogue()

    class PersonMovedOut(DomainEvent):
        person: str
        whereabouts: str
        reason: str | None = None

    local.register(PersonMovedOut, service="registry", version=3)

    @local.upcaster("wangge.registry.PersonMovedOut", from_version=1)
    def v1(data: dict[str, Any]) -> dict[str, Any]:
        return {"person": data["person_id"], "destination": data["to"]}

    @local.upcaster("wangge.registry.PersonMovedOut", from_version=2)
    def v2(data: dict[str, Any]) -> dict[str, Any]:
        return {"person": data["person"], "whereabouts": data["destination"]}

    decoded = local.decode("wangge.registry.PersonMovedOut", 1, {"person_id": "p", "to": "Nanjing"})
    assert decoded == PersonMovedOut(person="p", whereabouts="Nanjing")


def test_a_missing_upcaster_or_a_newer_version_is_an_error() -> None:
    with pytest.raises(EventValidationError, match="newer than this reader"):
        catalogue.decode("wangge.sample.MemberAdded", 3, {})
    local = Catalogue()
    local.register(MemberAdded, service="sample", version=2)
    with pytest.raises(EventValidationError, match="no upcaster from version 1"):
        local.decode("wangge.sample.MemberAdded", 1, {"name": "x"})


def test_decoding_names_the_wrong_field() -> None:
    with pytest.raises(EventValidationError) as raised:
        catalogue.decode(
            "wangge.sample.HouseholdRegistered",
            1,
            {"household_id": "h", "dwelling": "d", "kind": "tent"},
        )
    assert [e.field for e in raised.value.errors] == ["kind"]


def test_unknown_types_and_models_are_errors() -> None:
    with pytest.raises(UnknownEventType):
        catalogue.entry("wangge.sample.Nothing")

    class Stray(DomainEvent):
        pass

    with pytest.raises(UnknownEventType):
        catalogue.encode(Stray())


def test_events_are_frozen_and_refuse_unknown_fields() -> None:
    event = Counted(n=1)
    with pytest.raises(ValidationError):
        event.n = 2  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        Counted(n=1, m=2)  # type: ignore[call-arg]
