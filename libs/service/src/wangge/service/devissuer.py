"""A development token issuer: an Ed25519 key kept under the data folder, and tokens it signs.

For local use and tests only (``wangge token``); deployments verify tokens from their identity
provider's JWKS. The key is made on first use and kept, so tokens survive restarts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

DEV_ISSUER = "urn:wangge:dev-issuer"
DEV_AUDIENCE = "wangge"


class DevIssuer:
    """Signs development tokens with a key stored at ``key_path``."""

    def __init__(self, key_path: Path, *, issuer: str = DEV_ISSUER) -> None:
        self.issuer = issuer
        if key_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"{key_path} is not an Ed25519 key")
        else:
            key = Ed25519PrivateKey.generate()
            key_path.parent.mkdir(parents=True, exist_ok=True)
            key_path.write_bytes(key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ))  # fmt: skip
            key_path.chmod(0o600)
        self._key = key
        public = json.loads(OKPAlgorithm.to_jwk(key.public_key()))
        self.kid = uuid.uuid5(uuid.NAMESPACE_OID, public["x"]).hex[:16]
        self._public_jwk = {**public, "kid": self.kid, "alg": "EdDSA", "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        """The public keys, as an issuer publishes them."""
        return {"keys": [self._public_jwk]}

    def issue(
        self,
        subject: str,
        *,
        roles: Iterable[str],
        places: Iterable[str] = (),
        audience: str = DEV_AUDIENCE,
        ttl_seconds: int = 8 * 3600,
        now: float | None = None,
    ) -> str:
        """A signed token for ``subject`` with these roles and places."""
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "sub": subject,
            "iat": issued,
            "exp": issued + ttl_seconds,
            "roles": list(roles),
            "places": list(places),
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})
