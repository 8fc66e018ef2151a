"""The published contract: JSON Schemas and AsyncAPI from the catalogue, and the check that
refuses a breaking schema change without a new version and an upcaster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from wangge.events import Catalogue, DomainEvent
from wangge.events.contract import asyncapi, breaking_changes, json_schemas, write_contract

from events_samples import catalogue

REPO = Path(__file__).resolve().parents[4]


def test_every_event_type_has_a_versioned_json_schema() -> None:
    schemas = json_schemas(catalogue)
    assert set(schemas) == {
        "schemas/wangge.sample.Counted/v1.json",
        "schemas/wangge.sample.HouseholdRegistered/v1.json",
        "schemas/wangge.sample.MemberAdded/v2.json",
    }
    member = schemas["schemas/wangge.sample.MemberAdded/v2.json"]
    assert member["$id"] == "urn:wangge:schema:wangge.sample.MemberAdded:2"
    assert member["required"] == ["person", "relationship"]
    assert member["additionalProperties"] is False


def test_the_asyncapi_document_has_a_channel_per_service_and_a_message_per_type() -> None:
    document = asyncapi(catalogue)
    assert document["asyncapi"] == "3.0.0"
    assert document["channels"]["sample"]["address"] == "wangge.sample.events"
    assert set(document["channels"]["sample"]["messages"]) == {
        "Counted",
        "HouseholdRegistered",
        "MemberAdded",
    }
    message = document["components"]["messages"]["wangge.sample.MemberAdded"]
    assert message["payload"] == {"$ref": "#/components/schemas/wangge.sample.MemberAdded"}
    assert "ce_type" in message["headers"]["required"]
    operation = document["operations"]["sample.publish"]
    assert operation["action"] == "send"
    refs = json.dumps(document)
    assert "#/$defs" not in refs


def _published(tmp_path: Path, model: type[DomainEvent]) -> Path:
    old = Catalogue()
    old.register(model, service="registry", name="PersonMovedOut")
    write_contract(old, tmp_path)
    return tmp_path


def _changes(tmp_path: Path, published: type[DomainEvent], now: type[DomainEvent]) -> list[str]:
    """The breaking changes of ``now`` from ``published``, each PersonMovedOut version 1."""
    _published(tmp_path, published)
    new = Catalogue()
    new.register(now, service="registry", name="PersonMovedOut")
    return breaking_changes(new, tmp_path)


class MovedOut(DomainEvent):
    person: str
    whereabouts: str


class MovedOutWithReason(DomainEvent):
    person: str
    whereabouts: str
    reason: str | None = None


class Address(BaseModel):
    city: str


class Place(BaseModel):
    name: str


class MovedTo(DomainEvent):
    person: str
    to: Address


class MovedToPlace(DomainEvent):
    person: str
    to: Address
    place: Place | None = None


@pytest.mark.parametrize(
    ("published", "now"),
    [(MovedOut, MovedOutWithReason), (MovedTo, MovedToPlace)],
    ids=["an added optional field", "an optional field of a new nested type"],
)
def test_what_the_published_readers_still_read_is_not_a_breaking_change(
    tmp_path: Path, published: type[DomainEvent], now: type[DomainEvent]
) -> None:
    assert _changes(tmp_path, published, now) == []


def test_a_changed_nested_type_is_a_breaking_change(tmp_path: Path) -> None:
    class Address(BaseModel):  # same name, other shape
        city: int

    class MovedToNumber(DomainEvent):
        person: str
        to: Address

    assert _changes(tmp_path, MovedTo, MovedToNumber) == [
        "wangge.registry.PersonMovedOut v1: the nested type 'Address' changed"
    ]


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"person": (str, ...)}, "field 'whereabouts' was removed"),
        ({"person": (int, ...), "whereabouts": (str, ...)}, "field 'person' changed its type"),
        (
            {"person": (str, ...), "whereabouts": (str, ...), "reason": (str, ...)},
            "field 'reason' is newly required",
        ),
    ],
)
def test_a_breaking_change_at_the_same_version_is_refused(
    tmp_path: Path, fields: dict[str, Any], problem: str
) -> None:
    from pydantic import create_model

    changed = create_model("Changed", __base__=DomainEvent, **fields)
    assert _changes(tmp_path, MovedOut, changed) == [
        f"wangge.registry.PersonMovedOut v1: {problem}"
    ]


def test_a_new_version_needs_an_upcaster(tmp_path: Path) -> None:
    published = _published(tmp_path, MovedOut)
    new = Catalogue()
    new.register(MovedOut, service="registry", name="PersonMovedOut", version=2)
    assert breaking_changes(new, published) == [
        "wangge.registry.PersonMovedOut: version 2 has no upcaster from version 1"
    ]
    new.upcaster("wangge.registry.PersonMovedOut", from_version=1)(lambda data: data)
    assert breaking_changes(new, published) == []


def test_the_published_contract_in_docs_is_current_and_unbroken(tmp_path: Path) -> None:
    from wangge.events.contract import published_catalogue

    everything = published_catalogue()
    assert "wangge.registry.PlaceRegistered" in everything
    published = REPO / "docs" / "events"
    assert breaking_changes(everything, published) == []
    write_contract(everything, tmp_path)
    for generated in tmp_path.rglob("*.json"):
        committed = published / generated.relative_to(tmp_path)
        assert committed.exists(), f"{committed} is missing: run 'make docs'"
        assert committed.read_text() == generated.read_text(), f"{committed} is stale: 'make docs'"
