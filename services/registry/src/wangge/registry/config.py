"""The registry's settings (``WANGGE_*`` variables; see ``wangge.service.settings``)."""

from __future__ import annotations

import base64
import binascii
from typing import Self

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import Field, SecretStr, model_validator

from wangge.service import ServiceSettings


class RegistrySettings(ServiceSettings):
    """Settings of the registry service."""

    service: str = "registry"
    key_encryption_key: SecretStr | None = Field(
        default=None,
        description="base64 of 32 random bytes: wraps every person's data key. Required in "
        "production; dev and test derive one from the secret key",
    )
    disclosures_per_minute: int = Field(
        default=30, ge=1, description="unmasked reads of personal data one caller may make"
    )

    @model_validator(mode="after")
    def _refuse_missing_key(self) -> Self:
        if self.environment == "production" and self.key_encryption_key is None:
            raise ValueError("WANGGE_KEY_ENCRYPTION_KEY must be set in production")
        self.kek()
        return self

    def kek(self) -> bytes:
        """The key-encryption key (the base64 setting, or in dev one derived from the secret)."""
        if self.key_encryption_key is not None:
            try:
                key = base64.b64decode(self.key_encryption_key.get_secret_value(), validate=True)
            except binascii.Error:
                raise ValueError("WANGGE_KEY_ENCRYPTION_KEY is not base64") from None
            if len(key) != 32:
                raise ValueError("WANGGE_KEY_ENCRYPTION_KEY must be 32 bytes (AES-256)")
            return key
        secret = self.secret_key.get_secret_value().encode()
        return HKDF(hashes.SHA256(), 32, salt=None, info=b"wangge registry kek").derive(secret)
