"""Sealed blocks of personal data, and the crypto that makes and opens them.

Apart from :mod:`wangge.events.sealing` (whose key ring keeps data keys in a database, through
SQLAlchemy) so that a domain model may carry a :class:`Sealed` field and take a :data:`Seal`
without importing a database driver: domains import no framework, not even transitively.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import pydantic_core
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field


class Sealed(BaseModel):
    """Personal data encrypted with one person's data key (AES-GCM); opaque to everyone else."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="the data key's id: the person's id")
    nonce: str = Field(description="base64")
    ciphertext: str = Field(description="base64, with the GCM tag")


Seal = Callable[[Mapping[str, Any]], Sealed]
"""Seals blocks of one subject's data (see :func:`sealer`)."""


def generate_key() -> bytes:
    """A new data key (its key ring keeps it once the subject's events are appended)."""
    return AESGCM.generate_key(bit_length=256)


def sealer(key: bytes, subject_id: uuid.UUID) -> Seal:
    """Seals blocks of one subject's data (the subject's id is bound in as associated data)."""
    cipher = AESGCM(key)

    def seal(block: Mapping[str, Any]) -> Sealed:
        nonce = os.urandom(12)
        plain = pydantic_core.to_json(block)  # compact UTF-8, as json.dumps but faster
        return Sealed(
            key=str(subject_id),
            nonce=base64.b64encode(nonce).decode(),
            ciphertext=base64.b64encode(cipher.encrypt(nonce, plain, subject_id.bytes)).decode(),
        )

    return seal


def unseal(key: bytes, sealed: Sealed) -> dict[str, Any]:
    """The block inside a sealed value."""
    subject_id = uuid.UUID(sealed.key)
    plain = AESGCM(key).decrypt(
        base64.b64decode(sealed.nonce), base64.b64decode(sealed.ciphertext), subject_id.bytes
    )
    block: dict[str, Any] = pydantic_core.from_json(plain)
    return block
