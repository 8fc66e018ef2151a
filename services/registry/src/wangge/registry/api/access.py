"""Who may do what in the registry (DESIGN section 7), in one place.

Roles decide what a caller may do at all (403 otherwise). Place scope decides which records they
see: a record outside the caller's subdistrict, community or grids is answered with 404, as if
it did not exist, because a 403 would confirm to a grid worker that a person or household they
probed for is registered elsewhere. Every route names one of the role sets below.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from wangge.governance.errors import NotFound
from wangge.service.auth import ANY_DEPARTMENT, Principal, require

STAFF = ("grid_worker", "community_staff", "subdistrict_admin")
"""Those who keep the register: read and write inside their places."""
READERS = (*STAFF, ANY_DEPARTMENT)
"""Staff, and departments reading minimised data."""
ADMINS = ("subdistrict_admin",)
MANAGERS = ("community_staff", "subdistrict_admin")

Staff = Annotated[Principal, Depends(require(*STAFF))]
Reader = Annotated[Principal, Depends(require(*READERS))]
Manager = Annotated[Principal, Depends(require(*MANAGERS))]


def in_scope(principal: Principal, scope: str | None) -> bool:
    """Whether a record whose place scope is ``scope`` lies in the caller's places."""
    return scope is not None and principal.covers(scope)


def ensure_visible(principal: Principal, scope: str | None, what: str) -> None:
    """404 for a record outside the caller's places (see the module's note)."""
    if not in_scope(principal, scope):
        raise NotFound(f"no {what}")
