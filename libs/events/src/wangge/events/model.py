"""The base class of every domain event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr


class DomainEvent(BaseModel):
    """A past-tense fact in the domain's words, such as ``HouseholdRegistered``.

    Frozen, because a fact does not change once recorded; ``extra="forbid"``, because a field the
    model does not know is a mistake at the writer, not data to carry along silently.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=True)

    _unchecked: bool = PrivateAttr(default=False)
    """True for an event built by ``model_construct`` or ``model_copy(update=...)``, which skip
    validation: the store
    validates such an event before writing it, and trusts one its constructor validated."""

    @classmethod
    def model_construct(  # type: ignore[override]  # the pydantic plugin types it per model
        cls, _fields_set: set[str] | None = None, **values: Any
    ) -> Self:
        event = super().model_construct(_fields_set, **values)
        event._unchecked = True
        return event

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy._unchecked = True  # an update skips validation too
        return copy

    @property
    def unchecked(self) -> bool:
        """Whether the event skipped validation when it was built."""
        private = self.__pydantic_private__  # a slot: reading it skips pydantic's __getattr__
        return bool(private and private.get("_unchecked"))
