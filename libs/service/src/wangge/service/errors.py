"""Domain errors that map to problem details; pure Python, so ``domain/`` may raise them."""

from __future__ import annotations


class DomainError(Exception):
    """A command the domain refuses: the client's mistake, never a server fault.

    Subclasses set ``status`` (422 by default), a short ``slug`` naming the kind of problem (it
    becomes ``urn:wangge:problem:<slug>``) and a ``title``; ``field`` names the input at fault.
    """

    status: int = 422
    slug: str = "domain-rule"
    title: str = "The command breaks a rule of the domain"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFound(DomainError):
    """The addressed record does not exist (or is outside what the caller may see)."""

    status = 404
    slug = "not-found"
    title = "Not found"
