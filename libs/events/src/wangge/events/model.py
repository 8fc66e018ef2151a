"""The base class of every domain event."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

_UNCHECKED = {"unchecked": True}


class DomainEvent(BaseModel):
    """A past-tense fact in the domain's words, such as ``HouseholdRegistered``.

    Frozen, because a fact does not change once recorded; ``extra="forbid"``, because a field the
    model does not know is a mistake at the writer, not data to carry along silently.

    An event built by ``model_construct`` or ``model_copy(update=...)`` skipped validation; it
    is marked so (in pydantic's private slot, which no declared private attribute uses: one
    would cost every event's construction), and the store validates it before writing it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=True)

    @classmethod
    def model_construct(  # type: ignore[override]  # the pydantic plugin types it per model
        cls, _fields_set: set[str] | None = None, **values: Any
    ) -> Self:
        event = super().model_construct(_fields_set, **values)
        object.__setattr__(event, "__pydantic_private__", dict(_UNCHECKED))
        return event

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        if update:
            object.__setattr__(copy, "__pydantic_private__", dict(_UNCHECKED))
        return copy

    @property
    def unchecked(self) -> bool:
        """Whether the event skipped validation when it was built."""
        return self.__pydantic_private__ is not None


class IntegrationEvent(DomainEvent):
    """Another service's event as a consumer reads it: the fields it needs, nothing more.

    Services never import each other (STYLE.md): a projection of another service's events
    declares its own reader model of each, named by the producer's CloudEvents ``type``. Fields
    the producer adds later are ignored (a tolerant reader), so the producer's schema may grow
    without breaking its consumers; a field the reader needs that is missing is an error, loudly.
    Readers never enter the catalogue: they are read, never appended.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", use_enum_values=True)
    event_type: ClassVar[str]
    """The producer's event type, ``wangge.<service>.<EventName>``."""
