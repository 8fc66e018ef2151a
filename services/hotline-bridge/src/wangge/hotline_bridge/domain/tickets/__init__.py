"""Tickets of the 12345 hotline: what a pushed ticket becomes, and when it is due.

One module per concern (the events; the state and the steps of its lifecycle; the intake and
routing); everything is re-exported here, so ``tickets.receive``, ``tickets.Ticket`` and the
events read as one module.

A ticket's number is the hotline's; the ticket's id is derived from it (UUIDv5), so the same push
twice lands on the same stream and intake is idempotent by number without a lookup table. The
caller's name and phone are sealed with a data key of the ticket's own (the hotline's caller is a
person like any resident: erasing the key erases them from every copy of the log).

Free text is personal data until shown otherwise (DESIGN section 6): what the caller said, what
the grid replied, why it asked for time or gave the ticket back, what the follow-up call heard.
Each is sealed with the same key, and its clear field carries only its redacted copy
(:func:`wangge.governance.redaction.redact`), which routing, work lists and the other services read.
"""

from __future__ import annotations

from wangge.hotline_bridge.domain.tickets import events, lifecycle, receipt
from wangge.hotline_bridge.domain.tickets.events import *  # noqa: F403
from wangge.hotline_bridge.domain.tickets.lifecycle import *  # noqa: F403
from wangge.hotline_bridge.domain.tickets.receipt import *  # noqa: F403

__all__ = [*events.__all__, *lifecycle.__all__, *receipt.__all__]
