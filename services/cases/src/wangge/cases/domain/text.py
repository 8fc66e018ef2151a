"""Free text in the cases service's events: what a person writes about a matter (a case's
description, a session's summary, a visit's note) is personal data until shown otherwise.

An event keeps such text twice: its fields carry the redacted clear copy (phones, identity
numbers, plates and e-mail addresses masked by :func:`wangge.governance.redaction.redact`), which
work lists, inboxes and consumers read; and ``sealed_text`` carries the text in full, sealed
with the key of what it is about (a case's text key, a care plan's key), which only staff who
may see the case or plan open, and which erasure shreds. Names cannot be found by a pattern:
the full text is sealed for them. Without a key (it was erased, or the text came from another
service, whose erasure must reach it there) only the redacted copy is kept.

Events written before this rule have no ``sealed_text`` and their fields hold the text as it
was written: both shapes read the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from annotated_types import MaxLen

from wangge.events import DomainEvent
from wangge.events.sealed import Seal, Sealed
from wangge.governance.redaction import redact

SEALED = "sealed_text"
"""The field of every event with free text that holds it in full, sealed."""


def limit(model: type[DomainEvent], name: str) -> int | None:
    """The most characters ``model``'s field ``name`` keeps (None: unbounded)."""
    for constraint in model.model_fields[name].metadata:
        if isinstance(constraint, MaxLen):
            return constraint.max_length
    return None


class NamingSeal:
    """A case's seal that also knows the names of its outside parties, so that their clear
    copies mask those names where a text mentions them (no pattern finds a name)."""

    def __init__(self, seal: Seal, names: Iterable[str]) -> None:
        self.seal = seal
        self.names = tuple(names)

    def __call__(self, block: Mapping[str, Any]) -> Sealed:
        return self.seal(block)


def clear_copy(text: str, most: int | None = None, names: Iterable[str] = ()) -> str:
    """The redacted copy of ``text``, cut to ``most`` characters: a mask may be longer than
    what it masks (``a@b.cn`` is ``a***@b.cn``), and a field that refused it would refuse a
    text the client was allowed to send (or another service's fact)."""
    return redact(text, names=names)[:most]


def written(model: type[DomainEvent], seal: Seal | None, **texts: str | None) -> dict[str, Any]:
    """``model``'s free-text fields as an event keeps them: each the redacted clear copy of
    ``texts`` (None stays None), and ``sealed_text`` the texts in full, sealed with ``seal``
    (None without a key, or without any text)."""
    fields: dict[str, Any] = {}
    full: dict[str, str] = {}
    names = seal.names if isinstance(seal, NamingSeal) else ()
    for name, text in texts.items():
        if text is None:
            fields[name] = None
            continue
        fields[name] = clear_copy(text, limit(model, name), names)
        if text:
            full[name] = text
    fields[SEALED] = seal(full) if seal is not None and full else None
    return fields
