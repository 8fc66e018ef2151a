"""Who is looking at a page: the same bearer tokens as the API, never one in a URL.

A browser cannot add an ``Authorization`` header to a link it follows, so a page takes the
caller's token from that header when something in front of the service sets it (a deployment's
OIDC gateway, which forwards the identity provider's access token), or else from an HttpOnly,
SameSite=Strict cookie that a sign-in form POSTed it into. Either way the token is verified as
every API call's is (issuer, audience, expiry, the issuer's keys), on every page.

In development and tests (``environment`` dev or test, the dev issuer trusted) the sign-in page
mints a token for the role and place chosen, signed by the service's dev issuer; in production
that form does not exist, and the page explains where tokens come from.
"""

from __future__ import annotations

import time
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from wangge.service.auth import Principal, TokenVerifier, is_known_role
from wangge.service.devissuer import DEV_ISSUER, DevIssuer
from wangge.views.config import ViewsSettings

COOKIE = "wangge_session"


class SignInNeeded(Exception):
    """The page needs a signed-in caller: answered with a redirect to the sign-in page."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


def token_of(request: Request) -> str | None:
    """The caller's bearer token: the Authorization header's, else the session cookie's."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials:
        return credentials.strip()
    return request.cookies.get(COOKIE)


def viewer_of(request: Request) -> Principal | None:
    """The verified caller of a page, or None (no token, or one that does not verify)."""
    token = token_of(request)
    if not token:
        return None
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(token)
    except jwt.InvalidTokenError:
        return None


def _viewer(request: Request) -> Principal:
    viewer = viewer_of(request)
    if viewer is None:
        raise SignInNeeded(
            _local(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        )
    return viewer


Viewer = Annotated[Principal, Depends(_viewer)]
"""A page's verified caller (else a redirect to the sign-in page, and back after it)."""


def dev_sign_in(settings: ViewsSettings) -> bool:
    """Whether the sign-in page may mint tokens: only where the dev issuer is the one trusted."""
    return settings.environment in ("dev", "test") and settings.auth_issuer == DEV_ISSUER


def _local(path: str) -> str:
    """A path on this service to go back to after signing in (anything else: the start)."""
    return path if path.startswith("/") and not path.startswith("//") else "/"


def _signed_in(request: Request, token: str, back_to: str) -> Response:
    """Back where the caller was going, the token kept in an HttpOnly cookie for its life."""
    claims = jwt.decode(token, options={"verify_signature": False})
    ttl = max(0, int(claims.get("exp", 0) - time.time()))
    response = RedirectResponse(_local(back_to), status_code=303)
    response.set_cookie(
        COOKIE, token, max_age=ttl, httponly=True, samesite="strict", path="/",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


router = APIRouter(include_in_schema=False)


@router.post("/signin/dev")
async def sign_in_dev(
    request: Request,
    role: Annotated[str, Form(max_length=60)],
    place: Annotated[str, Form(max_length=40, pattern=r"^[0-9]{9}(-[0-9]{3}){0,2}$")],
    name: Annotated[str, Form(max_length=60, pattern=r"^[\w.-]+$")] = "dev-user",
    back_to: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Mint a development token for the role and place chosen (dev and test only)."""
    settings: ViewsSettings = request.app.state.service.core.settings
    if not dev_sign_in(settings):
        return Response(status_code=404)
    if not is_known_role(role):
        return RedirectResponse("/signin?error=role", status_code=303)
    token = DevIssuer(settings.dev_key_path).issue(name, roles=[role], places=[place])
    return _signed_in(request, token, back_to)


@router.post("/signin/token")
async def sign_in_token(
    request: Request,
    token: Annotated[str, Form(max_length=8192)],
    back_to: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Keep a bearer token from the deployment's issuer (pasted, or POSTed by a kiosk's
    start-up) in the session cookie, once it verifies."""
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        verifier.verify(token)
    except jwt.InvalidTokenError:
        return RedirectResponse("/signin?error=token", status_code=303)
    return _signed_in(request, token, back_to)


@router.post("/signout")
async def sign_out() -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
