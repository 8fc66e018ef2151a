"""Adapters from a hotline's wire format to the domain's :class:`Intake` (anti-corruption layer).

Each city's 12345 platform pushes its own JSON; an adapter reads one format and nothing beyond
this package knows it. Another city's format is a new adapter here, not a change to the domain.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel

from wangge.hotline_bridge.adapters import standard
from wangge.hotline_bridge.domain.tickets import ExtensionDecision, FollowUp, Intake, ReplyOut


class Adapter(Protocol):
    """Reads a push of one wire format."""

    @property
    def name(self) -> str:
        """The format's name (``WANGGE_HOTLINE_FORMAT``)."""
        ...

    @property
    def model(self) -> type[BaseModel]:
        """The wire format's pydantic model (its JSON Schema documents the push)."""
        ...

    def read(self, body: bytes) -> Intake:
        """The intake of a push; a ``RequestValidationError`` naming the wire's fields if bad."""
        ...

    def read_follow_up(self, body: bytes) -> FollowUp:
        """A follow-up result (回访) the hotline pushes back."""
        ...

    def read_extension_decision(self, body: bytes) -> ExtensionDecision:
        """The hotline's decision on an extension request."""
        ...

    def write_reply(self, reply: ReplyOut) -> bytes:
        """The body of a reply delivered to the hotline's callback."""
        ...


ADAPTERS: dict[str, Adapter] = {standard.ADAPTER.name: standard.ADAPTER}
"""Every wire format this build reads, by the name ``WANGGE_HOTLINE_FORMAT`` selects."""
