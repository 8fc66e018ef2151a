"""Settings from the environment, shared by every service.

``WANGGE_<NAME>`` variables, plus the plain ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` that
the dev scripts and most platforms set. Outside ``dev`` and ``test`` a default secret is refused:
a deployment that forgot to set one must not start.
"""

from __future__ import annotations

import base64
import binascii
import sys
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wangge.service.devissuer import DEV_AUDIENCE, DEV_ISSUER

DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 (refused outside development)


class ServiceSettings(BaseSettings):
    """What a service needs to start; subclasses add their own fields."""

    model_config = SettingsConfigDict(env_prefix="WANGGE_", extra="ignore")

    service: str = Field(description="the service's name: registry, cases, hotline_bridge, ...")
    environment: Literal["dev", "test", "production"] = "dev"
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("WANGGE_DATABASE_URL", "DATABASE_URL"),
        description="PostgreSQL in production; default: SQLite under data_dir",
    )
    database_schema: str | None = Field(
        default=None, description="PostgreSQL schema of the service's tables (search_path)"
    )
    data_dir: Path = Path("var")
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("WANGGE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"),
        description="with Kafka, the service runs its outbox relay; without, embedded mode",
    )
    kafka_partitions: int = Field(default=12, ge=1)
    relay_in_process: bool = Field(
        default=True,
        description="with Kafka, run the outbox relay inside the service; false when it runs as "
        "its own process (`wangge-events relay`), one per service",
    )
    kafka_namespace: str = Field(
        default="wangge",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="first part of topic and consumer-group names (wangge.<service>.events): "
        "several deployments, or test runs, can share one cluster",
    )
    upstream_database_urls: dict[str, str] = Field(
        default_factory=dict,
        description="without Kafka, where to read another service's events, as JSON "
        '{"<service>": "<database url>"}; default: that service\'s embedded SQLite file under '
        "data_dir",
    )
    max_body_bytes: int = Field(
        default=1_048_576,
        ge=1,
        description="the largest request body any route accepts (1 MiB by default); a larger "
        "one is refused with a 413 before it is read in full",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="json for a log collector, text for a person; auto: text when the "
        "service's stderr is a terminal (make run), else json",
    )
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    auth_issuer: str = Field(default=DEV_ISSUER, description="the token issuer (iss) to trust")
    auth_audience: str = Field(default=DEV_AUDIENCE, description="the audience (aud) tokens name")
    auth_jwks_file: Path | None = Field(
        default=None,
        description="the issuer's public keys (JWKS); dev and test default to "
        "the dev issuer's key under data_dir",
    )

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.environment == "production":
            if self.secret_key.get_secret_value() == DEV_SECRET:
                raise ValueError("WANGGE_SECRET_KEY must be set outside dev and test")
            if self.auth_jwks_file is None or self.auth_issuer == DEV_ISSUER:
                raise ValueError(
                    "WANGGE_AUTH_JWKS_FILE and WANGGE_AUTH_ISSUER must name the "
                    "deployment's identity provider outside dev and test"
                )
        return self

    @property
    def log_form(self) -> str:
        """The log format to use: ``log_format``, with ``auto`` decided by stderr."""
        if self.log_format != "auto":
            return self.log_format
        return "text" if sys.stderr.isatty() else "json"

    @property
    def dev_key_path(self) -> Path:
        """Where the dev issuer keeps its signing key."""
        return self.data_dir / "dev-issuer.pem"

    def engine_options(self) -> dict[str, Any]:
        """Extra ``create_engine`` options: the PostgreSQL schema, when one is set."""
        if self.database_schema and not self.resolved_database_url.startswith("sqlite"):
            return {"connect_args": {"server_settings": {"search_path": self.database_schema}}}
        return {}

    @property
    def resolved_database_url(self) -> str:
        """The database to use: the configured one, or the embedded SQLite default."""
        if self.database_url:
            return self.database_url
        # built here, not with wangge.events.db, so that settings never import SQLAlchemy
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{self.data_dir / f'{self.service}.db'}"

    def upstream_database_url(self, service: str) -> str | None:
        """Where another service's event table is, for embedded mode (no Kafka); None when this
        service runs on PostgreSQL and nobody said (there is no file to guess)."""
        if service in self.upstream_database_urls:
            return self.upstream_database_urls[service]
        if self.database_url and not self.database_url.startswith("sqlite"):
            return None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite+aiosqlite:///{self.data_dir / f'{service}.db'}"


class SealingSettings(ServiceSettings):
    """Settings of a service that seals personal data in its events (see wangge.events.sealing)."""

    key_encryption_key: SecretStr | None = Field(
        default=None,
        description="base64 of 32 random bytes: wraps every data subject's key. Required in "
        "production; dev and test derive one from the secret key",
    )

    @model_validator(mode="after")
    def _refuse_missing_key(self) -> Self:
        if self.environment == "production" and self.key_encryption_key is None:
            raise ValueError("WANGGE_KEY_ENCRYPTION_KEY must be set in production")
        self.kek()
        return self

    def kek(self) -> bytes:
        """The key-encryption key (the base64 setting, or in dev one derived from the secret)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        if self.key_encryption_key is not None:
            try:
                key = base64.b64decode(self.key_encryption_key.get_secret_value(), validate=True)
            except binascii.Error:
                raise ValueError("WANGGE_KEY_ENCRYPTION_KEY is not base64") from None
            if len(key) != 32:
                raise ValueError("WANGGE_KEY_ENCRYPTION_KEY must be 32 bytes (AES-256)")
            return key
        secret = self.secret_key.get_secret_value().encode()
        info = f"wangge {self.service} kek".encode()
        return HKDF(hashes.SHA256(), 32, salt=None, info=info).derive(secret)
