"""Free text in the register's events: personal data until shown otherwise (DESIGN §6).

What a person writes about residents (a visit's note, a need) is sealed with its subject's key,
and the event carries beside it the redacted copy (:func:`wangge.governance.redaction.redact`:
phone and identity numbers, plates and e-mail addresses masked), which routing, work lists and
other services read. Text about a facility, an organisation or a member of staff has no data
subject with a key: what a pattern finds is masked before it is recorded, and only that copy
is kept. Names cannot be found by a pattern; the README says which fields are which.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from wangge.events.sealed import Seal, Sealed
from wangge.governance.redaction import redact


class Text(BaseModel):
    """What a sealed block of free text holds."""

    model_config = ConfigDict(frozen=True)

    text: str


def clear_copy(text: str, limit: int) -> str:
    """The redacted copy of ``text``, within the ``limit`` of the field it goes into (a masked
    plate gains a separator, so a copy can be a few characters longer than what was typed)."""
    return redact(text)[:limit]


def seal_text(seal: Seal, text: str) -> Sealed:
    """``text`` sealed as a :class:`Text` block."""
    return seal(Text(text=text).model_dump())


def opened_text(block: dict[str, Any]) -> str:
    """The text of an opened :class:`Text` block."""
    return Text.model_validate(block).text
