"""The base class of every domain event."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class DomainEvent(BaseModel):
    """A past-tense fact in the domain's words, such as ``HouseholdRegistered``.

    Frozen, because a fact does not change once recorded; ``extra="forbid"``, because a field the
    model does not know is a mistake at the writer, not data to carry along silently.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=True)
