"""The dispatch catalogue (派单目录): what a ticket is about, and how long the grid has for it.

Each city keeps its own catalogue; the default one ships with the service and a deployment names
its own file (``WANGGE_DISPATCH_CATALOGUE``). A time limit runs from the moment the hotline
received the ticket: some hours, the same day, or working days on the official calendar.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wangge.governance.times import local_day
from wangge.hotline_bridge.domain.calendar import add_working_days, end_of

DEFAULT_CATALOGUE = Path(__file__).with_name("catalogue.json")


class TicketKind(StrEnum):
    """What kind of request a category is (the hotline's own grouping)."""

    EMERGENCY = "emergency"
    COMPLAINT = "complaint"
    REQUEST = "request"
    ENQUIRY = "enquiry"
    SUGGESTION = "suggestion"
    PRAISE = "praise"


class TimeLimit(BaseModel):
    """How long the handling may take, counted from receipt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit: Literal["hours", "same_day", "working_days"]
    amount: int = Field(default=0, ge=0, le=60)

    @model_validator(mode="after")
    def _amount_for_counted_units(self) -> Self:
        if self.unit != "same_day" and self.amount < 1:
            raise ValueError(f"a limit in {self.unit} needs an amount of at least 1")
        return self

    def describe(self) -> str:
        """The limit in words: ``13 working days``, ``2 hours``, ``the same day``."""
        if self.unit == "same_day":
            return "the same day"
        return f"{self.amount} {self.unit.replace('_', ' ')}"

    def deadline(self, received_at: datetime) -> datetime:
        """The moment the reply is due for a ticket received at ``received_at``."""
        if self.unit == "hours":
            return received_at + timedelta(hours=self.amount)
        day = local_day(received_at)
        if self.unit == "same_day":
            return end_of(day)
        return end_of(add_working_days(day, self.amount))


class Category(BaseModel):
    """One entry of the catalogue."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=100)
    kind: TicketKind
    time_limit: TimeLimit


class DispatchCatalogue(BaseModel):
    """The categories a hotline dispatches tickets under."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    categories: tuple[Category, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_unique(self) -> Self:
        codes = [c.code for c in self.categories]
        if len(set(codes)) != len(codes):
            raise ValueError("category codes must be unique")
        return self

    @classmethod
    def load(cls, path: Path = DEFAULT_CATALOGUE) -> DispatchCatalogue:
        """A catalogue from its JSON file."""
        return cls.model_validate_json(path.read_bytes())

    def get(self, code: str) -> Category | None:
        """The category with ``code``, if the catalogue has it."""
        return next((c for c in self.categories if c.code == code), None)
