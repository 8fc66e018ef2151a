"""Free texts as a ticket keeps them: the full text sealed with the ticket's data key, a redacted
copy in clear."""

from __future__ import annotations

from wangge.events.sealed import Seal, Sealed
from wangge.governance.redaction import redact


def sealed_texts(seal: Seal | None, **texts: str | None) -> Sealed | None:
    """The full free texts of a step, sealed with the ticket's key (no seal: the caller was
    erased, and a new text is kept as its redacted copy alone)."""
    present = {name: text for name, text in texts.items() if text is not None}
    if seal is None or not present:
        return None
    return seal(present)


def redacted(text: str, limit: int) -> str:
    """The redacted clear copy of a free text, cut to the field's ``limit`` (a masked e-mail
    address is longer than the address)."""
    return redact(text)[:limit]


REPLY_LENGTH = 4000
"""The longest reply the hotline takes (``TicketReplied.reply``)."""
