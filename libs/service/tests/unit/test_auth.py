"""Place scope and token verification, without a server."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from wangge.service.auth import Principal, TokenVerifier, covers, is_known_role
from wangge.service.devissuer import DEV_AUDIENCE, DEV_ISSUER, DevIssuer


def test_a_place_code_covers_the_codes_below_it() -> None:
    assert covers("320111001", "320111001-003-004")
    assert covers("320111001-003", "320111001-003-004-012")
    assert covers("320111001-003-004", "320111001-003-004")
    assert not covers("320111001-003", "320111001-030-001")  # a prefix of digits is not a parent
    assert not covers("320111001-003-004", "320111001-003")


def test_roles_are_those_of_the_design() -> None:
    assert is_known_role("grid_worker")
    assert is_known_role("department:civil_affairs")
    assert not is_known_role("department:")
    assert not is_known_role("root")


def test_a_principal_covers_any_of_its_places() -> None:
    worker = Principal("w1", frozenset({"grid_worker"}), frozenset({"320111001-003-004"}))
    assert worker.covers("320111001-003-004-001")
    assert not worker.covers("320111001-003-005")


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path / "key.pem")


def test_a_dev_token_verifies_and_survives_a_restart(issuer: DevIssuer, tmp_path: Path) -> None:
    token = issuer.issue("w1", roles=["grid_worker"], places=["320111001-003-004"])
    again = DevIssuer(tmp_path / "key.pem")
    verifier = TokenVerifier(issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks=again.jwks())
    principal = verifier.verify(token)
    assert principal == Principal(
        "w1", frozenset({"grid_worker"}), frozenset({"320111001-003-004"})
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"audience": "another-system"}, "(?i)audience"),
        ({"now": time.time() - 48 * 3600}, "expired"),
        ({"roles": ["root"]}, "unknown roles"),
    ],
)
def test_invalid_tokens_are_refused(
    issuer: DevIssuer, change: dict[str, object], message: str
) -> None:
    verifier = TokenVerifier(issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks=issuer.jwks())
    arguments: dict[str, object] = {"roles": ["grid_worker"], **change}
    token = issuer.issue("w1", **arguments)  # type: ignore[arg-type]
    with pytest.raises(jwt.InvalidTokenError, match=message):
        verifier.verify(token)


def test_a_token_from_another_key_is_refused(issuer: DevIssuer, tmp_path: Path) -> None:
    stranger = DevIssuer(tmp_path / "other.pem")
    verifier = TokenVerifier(issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks=issuer.jwks())
    with pytest.raises(jwt.InvalidTokenError):
        verifier.verify(stranger.issue("w1", roles=["grid_worker"]))


def test_any_department_admits_every_department_and_nobody_else() -> None:
    from wangge.service.auth import ANY_DEPARTMENT, Principal

    health = Principal("h", frozenset({"department:health"}), frozenset())
    worker = Principal("w", frozenset({"grid_worker"}), frozenset())
    assert health.has_any([ANY_DEPARTMENT]) and health.department_only
    assert not worker.has_any([ANY_DEPARTMENT]) and not worker.department_only


def test_a_remembered_token_is_refused_once_it_expires(issuer: DevIssuer) -> None:
    verifier = TokenVerifier(issuer=DEV_ISSUER, audience=DEV_AUDIENCE, jwks=issuer.jwks())
    token = issuer.issue("w1", roles=["grid_worker"], places=["320111001"], ttl_seconds=1)
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # remembered: not checked again
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        verifier.verify(token)
