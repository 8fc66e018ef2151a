"""Signed pushes: the hotline signs each push with a shared secret and the time it sent it.

``X-Hotline-Timestamp`` carries the Unix time of sending, ``X-Hotline-Signature`` is
``sha256=<hex>``, the HMAC-SHA256 of ``"<timestamp>.<raw body>"`` under the secret. A push with
a wrong signature, or one older (or newer) than the tolerance, is refused: a captured push
cannot be replayed later, and nobody without the secret can push.
"""

from __future__ import annotations

import hashlib
import hmac

from wangge.governance.errors import DomainError

TIMESTAMP = "X-Hotline-Timestamp"
SIGNATURE = "X-Hotline-Signature"


class BadSignature(DomainError):
    """A push whose signature or timestamp does not hold."""

    status = 401
    slug = "bad-signature"
    title = "The push is not signed by the hotline, or too old"


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The signature header of a push sent at ``timestamp`` (what the hotline computes)."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: bytes,
    *,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    now: float,
    tolerance: int,
) -> None:
    """Refuse a push unless it is signed with ``secret`` within ``tolerance`` seconds of now."""
    if not timestamp or not timestamp.strip().isdigit():
        raise BadSignature("the push has no Unix timestamp", field=f"header/{TIMESTAMP}")
    sent = int(timestamp.strip())
    if abs(now - sent) > tolerance:
        when = f"{int(now - sent)} s ago" if sent <= now else f"{int(sent - now)} s in the future"
        raise BadSignature(
            f"the push was signed {when}, more than the {tolerance} s allowed (clocks apart?)",
            field=f"header/{TIMESTAMP}",
        )
    if not signature or not hmac.compare_digest(signature.strip(), sign(secret, sent, body)):
        raise BadSignature("the signature does not match the push", field=f"header/{SIGNATURE}")
