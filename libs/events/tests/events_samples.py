"""Event models used by the event library's own tests: a household and its members."""

from __future__ import annotations

from typing import Any, Literal

from wangge.events import Catalogue, DomainEvent

catalogue = Catalogue()


@catalogue.event("sample")
class HouseholdRegistered(DomainEvent):
    """户 registered at a dwelling."""

    household_id: str
    dwelling: str
    kind: Literal["family", "collective"] = "family"


@catalogue.event("sample", version=2)
class MemberAdded(DomainEvent):
    """A person joined a household (v2 split ``name`` into a relationship and a display name)."""

    person: str
    relationship: str


@catalogue.upcaster("wangge.sample.MemberAdded", from_version=1)
def _member_added_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {"person": data["name"], "relationship": data.get("relation", "unknown")}


@catalogue.event("sample")
class Counted(DomainEvent):
    """A tick of a counter: the smallest event, for load tests."""

    n: int
