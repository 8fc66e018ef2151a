"""HTTP Basic credentials of learning record providers, the way xAPI 1.0.3 asks an LRS to take
them: a key and a secret per client, issued by a subdistrict admin, each with one role.

A ``provider`` sends statements (and reads them back, as providers check what they sent); a
``reader`` only reads. The secret is shown once, when issued, and kept only as an scrypt hash
(``hashlib.scrypt``, memory-hard: a stolen table does not give the secrets back). Credentials
are the service's own configuration, not facts of the training record: they live in their own
table (migration 0004), never in an event, so no hash of a secret reaches Kafka.

Checking an scrypt hash costs tens of milliseconds by design, and a provider sends its
credentials with every request: a credential checked lately is remembered for
:data:`REMEMBERED_SECONDS`, so a revocation takes effect within that time.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events.db import read_only
from wangge.events.store.tables import UTCDateTime

metadata = sa.MetaData()
clients = sa.Table(
    "training_xapi_clients",
    metadata,
    sa.Column("client_key", sa.String(40), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, comment="what the client is, for admins"),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("secret_hash", sa.String(200), nullable=False, comment="scrypt$n$r$p$salt$hash"),
    sa.Column("issued_by", sa.String(200), nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
"""scrypt's cost: 16 MiB and some 50 ms per check (the parameters are kept with each hash,
so raising them later leaves earlier hashes readable)."""
REMEMBERED_SECONDS = 60.0
REMEMBERED = 256


class ClientRole(StrEnum):
    """What a client's credentials let it do under /xapi."""

    PROVIDER = "provider"
    READER = "reader"


@dataclass(frozen=True)
class XapiClient:
    """A client whose credentials were checked."""

    key: str
    name: str
    role: ClientRole

    @property
    def may_write(self) -> bool:
        return self.role == ClientRole.PROVIDER


@dataclass(frozen=True)
class Issued:
    """Credentials just issued: the secret is here once, and nowhere afterwards."""

    key: str
    secret: str
    name: str
    role: ClientRole


def hash_secret(secret: str) -> str:
    """The secret as kept: its scrypt hash with the salt and the cost."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    parts = (str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest))
    return "scrypt$" + "$".join(parts)


def secret_matches(secret: str, kept: str) -> bool:
    """Whether ``secret`` is the one whose hash is ``kept`` (compared in constant time)."""
    try:
        scheme, n, r, p, salt, digest = kept.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        found = hashlib.scrypt(
            secret.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected),
        )  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(found, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def issue(engine: AsyncEngine, *, name: str, role: ClientRole, issued_by: str) -> Issued:
    """New credentials for a client."""
    key = "xc_" + secrets.token_hex(12)
    secret = secrets.token_urlsafe(32)
    async with engine.begin() as conn:
        await conn.execute(
            sa.insert(clients).values(
                client_key=key, name=name, role=role.value, secret_hash=hash_secret(secret),
                issued_by=issued_by, issued_at=datetime.now(UTC),
            )
        )  # fmt: skip
    return Issued(key=key, secret=secret, name=name, role=role)


async def revoke(engine: AsyncEngine, key: str) -> bool:
    """Revoke a client's credentials; whether they were in force."""
    async with engine.begin() as conn:
        done = await conn.execute(
            sa.update(clients)
            .where(clients.c.client_key == key, clients.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    return bool(done.rowcount)


class ClientVerifier:
    """Checks a client's key and secret against the kept hashes."""

    def __init__(self) -> None:
        self._checked: OrderedDict[bytes, tuple[XapiClient, float]] = OrderedDict()

    async def verify(self, engine: AsyncEngine, key: str, secret: str) -> XapiClient | None:
        """The client these credentials are in force for; None if none is."""
        # remembered by a hash of both, so the memory never holds a secret
        token = hashlib.sha256(f"{key}\x1f{secret}".encode()).digest()
        known = self._checked.get(token)
        if known is not None and time.monotonic() < known[1]:
            return known[0]
        async with read_only(engine) as conn:
            row = (
                await conn.execute(
                    sa.select(clients).where(
                        clients.c.client_key == key, clients.c.revoked_at.is_(None)
                    )
                )
            ).first()
        # scrypt takes tens of milliseconds on purpose: off the event loop, or every wrong
        # secret sent would stall every other request for that long
        if row is None or not await asyncio.to_thread(secret_matches, secret, row.secret_hash):
            return None
        client = XapiClient(key=row.client_key, name=row.name, role=ClientRole(row.role))
        self._checked[token] = (client, time.monotonic() + REMEMBERED_SECONDS)
        if len(self._checked) > REMEMBERED:
            self._checked.popitem(last=False)
        return client
