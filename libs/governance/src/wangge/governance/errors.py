"""Domain errors that map to problem details; pure Python, so ``domain/`` may raise them."""

from __future__ import annotations


class DomainError(Exception):
    """A command the domain refuses: the client's mistake, never a server fault.

    Subclasses set ``status`` (422 by default), a short ``slug`` naming the kind of problem (it
    becomes ``urn:wangge:problem:<slug>``) and a ``title``; ``field`` names the input at fault.
    ``retry_after`` (seconds) becomes the ``Retry-After`` header: every 429 says when the caller
    may try again, so that clients back off for as long as needed and no longer.
    """

    status: int = 422
    slug: str = "domain-rule"
    title: str = "The command breaks a rule of the domain"

    def __init__(
        self, detail: str, *, field: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.retry_after = retry_after


class NotFound(DomainError):
    """The addressed record does not exist (or is outside what the caller may see)."""

    status = 404
    slug = "not-found"
    title = "Not found"


class Forbidden(DomainError):
    """The caller's role may not do this (whatever the record)."""

    status = 403
    slug = "forbidden"
    title = "The caller's role may not do this"


class Conflict(DomainError):
    """The command conflicts with the current state of another record."""

    status = 409
    slug = "conflict"
    title = "The command conflicts with the register's current state"
