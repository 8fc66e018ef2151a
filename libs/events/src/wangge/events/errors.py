"""Errors of the event machinery; services map them once, centrally, to RFC 9457 problem details."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class EventStoreError(Exception):
    """Base of every error raised by the event machinery."""


@dataclass(frozen=True)
class FieldError:
    """One invalid field: where it is (a JSON-pointer-like path) and what is wrong with it."""

    field: str
    message: str


class EventValidationError(EventStoreError, ValueError):
    """An event does not match its model; nothing was written."""

    def __init__(self, event_type: str, errors: Sequence[FieldError]) -> None:
        self.event_type = event_type
        self.errors = list(errors)
        detail = "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        super().__init__(f"{event_type} is invalid: {detail}")


class UnknownEventType(EventStoreError, LookupError):
    """A type name (or model) the catalogue does not know."""

    def __init__(self, event_type: str) -> None:
        self.event_type = event_type
        super().__init__(f"unknown event type {event_type!r}")


class ConcurrencyConflict(EventStoreError):
    """The stream moved on since the command read it; nothing was written (HTTP 409)."""

    def __init__(self, stream_id: str, expected: int | None, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, the command expected {expected}"
        )


class StreamNotFound(EventStoreError, LookupError):
    """A command addressed a stream that has no events (HTTP 404 naming ``field``)."""

    def __init__(self, stream_id: str, field: str | None = None) -> None:
        self.stream_id = stream_id
        self.field = field
        super().__init__(f"no {stream_id}")


class IdempotencyKeyReused(EventStoreError):
    """An idempotency key came back with a different command; nothing was written (HTTP 422)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} was already used for a different command")


class WriteOrderError(EventStoreError, RuntimeError):
    """An append the PostgreSQL store refuses in this transaction; the same work in a new one
    passes (``wangge.events.retry.when_overtaken`` runs it again).

    Readers order events by transaction id; a transaction that took its id (with an earlier
    append or another write) before a younger transaction extended a stream would place its
    events ahead of events it has already seen, so the store refuses that append. An
    append at any version (``expected_version=None``) that a concurrent append beat to the
    stream's next version is refused the same way: its transaction is aborted, and nothing about
    it was the caller's conflict.
    """
