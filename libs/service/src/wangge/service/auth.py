"""Who is calling, and may they: OAuth2 bearer JWTs, the roles of DESIGN section 7, place scope.

Tokens are verified against the issuer's public keys (a JWKS), with issuer, audience and expiry
checked. A token carries ``roles`` and ``places``: the subdistrict, community or grid codes its
holder works in. A place code covers every code below it (``320111001-003`` covers grid
``320111001-003-004`` and its buildings), so one check serves every level of the place tree.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from wangge.service.responses import raises

ROLES = frozenset({
    "grid_worker", "community_staff", "subdistrict_admin", "hotline_system", "trainer", "analyst",
    "operator",
})  # fmt: skip
"""The roles of DESIGN section 7 (``operator``: runs the deployment, as parked events need);
``department:<name>`` roles are open-ended."""

ANY_DEPARTMENT = "department:*"
"""In :func:`require`, any ``department:<name>`` role."""

ALGORITHMS = ["EdDSA", "RS256", "ES256"]


def is_known_role(role: str) -> bool:
    """A role from DESIGN section 7 (``department:<name>`` for any department)."""
    return role in ROLES or (role.startswith("department:") and len(role) > len("department:"))


def covers(scope: str, place: str) -> bool:
    """Whether the place code ``scope`` contains ``place`` (or is it)."""
    return place == scope or place.startswith(scope + "-")


@dataclass(frozen=True)
class Principal:
    """The verified caller."""

    subject: str
    roles: frozenset[str]
    places: frozenset[str]

    def has_any(self, roles: Iterable[str]) -> bool:
        """Whether the caller holds one of ``roles`` (``department:*``: any department)."""
        for role in roles:
            if role in self.roles:
                return True
            if role == ANY_DEPARTMENT and any(r.startswith("department:") for r in self.roles):
                return True
        return False

    @property
    def department_only(self) -> bool:
        """A department's caller: read-only, minimised data (DESIGN section 7)."""
        return bool(self.roles) and all(r.startswith("department:") for r in self.roles)

    def covers(self, place: str) -> bool:
        """Whether ``place`` lies inside one of the caller's places."""
        return any(covers(scope, place) for scope in self.places)


class TokenVerifier:
    """Verifies bearer tokens against one issuer's keys."""

    REMEMBERED = 1024
    """Tokens verified lately, kept until they expire: a caller sends the same token with
    every request, and checking its signature again costs more than the rest of a request's
    authentication together."""

    def __init__(self, *, issuer: str, audience: str, jwks: Mapping[str, Any]) -> None:
        self.issuer = issuer
        self.audience = audience
        self._keys = jwt.PyJWKSet.from_dict(dict(jwks))
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal:
        """The principal of a valid token; :class:`jwt.InvalidTokenError` otherwise."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            self._verified.move_to_end(token)
            return known[0]
        principal, expires = self._check(token)
        self._verified[token] = (principal, expires)
        if len(self._verified) > self.REMEMBERED:
            self._verified.popitem(last=False)
        return principal

    def _check(self, token: str) -> tuple[Principal, float]:
        header = jwt.get_unverified_header(token)
        key = self._key(header.get("kid"))
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=ALGORITHMS,
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
        roles = claims.get("roles", [])
        places = claims.get("places", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise jwt.InvalidTokenError("roles must be a list of strings")
        if not isinstance(places, list) or not all(isinstance(p, str) for p in places):
            raise jwt.InvalidTokenError("places must be a list of strings")
        unknown = [r for r in roles if not is_known_role(r)]
        if unknown:
            raise jwt.InvalidTokenError(f"unknown roles: {', '.join(unknown)}")
        principal = Principal(
            subject=claims["sub"], roles=frozenset(roles), places=frozenset(places)
        )
        return principal, float(claims["exp"])

    def _key(self, kid: str | None) -> jwt.PyJWK:
        for key in self._keys.keys:
            if kid is None or key.key_id == kid:
                return key
        raise jwt.InvalidTokenError(f"no key {kid!r} at the issuer")


_bearer = HTTPBearer(auto_error=False, description="A JWT from the deployment's issuer")


def _unauthorised(detail: str) -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


# a route that knows its caller checks a role or a place with it: a 403 can follow
@raises(401, 403)
async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified caller; 401 without a valid bearer token."""
    if credentials is None:
        raise _unauthorised("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(credentials.credentials)
    except jwt.InvalidTokenError as error:
        raise _unauthorised(f"the bearer token is not valid: {error}") from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(*roles: str) -> Callable[..., Any]:
    """A dependency that lets through only callers holding one of ``roles`` (else 403)."""
    for role in roles:
        if not is_known_role(role):
            raise ValueError(f"unknown role {role!r}")

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_any(roles):
            raise HTTPException(403, detail=f"needs one of the roles: {', '.join(roles)}")
        return principal

    dependency.__wangge_roles__ = roles  # type: ignore[attr-defined]
    return dependency


def declared_roles(route: Any) -> tuple[str, ...] | None:
    """The roles a route lets through (from its :func:`require` dependency); None if open."""
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        roles = getattr(dependant.call, "__wangge_roles__", None)
        if roles is not None:
            return tuple(roles)
        pending.extend(dependant.dependencies)
    return None


def require_place(principal: Principal, place: str) -> None:
    """403 unless ``place`` lies in the caller's places (call once the place is known)."""
    if not principal.covers(place):
        raise HTTPException(403, detail=f"{place} is outside the caller's places")
