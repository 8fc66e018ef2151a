"""The hotline bridge's settings (``WANGGE_*`` variables; see ``wangge.service.settings``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator

from wangge.hotline_bridge.domain.catalogue import DEFAULT_CATALOGUE
from wangge.service.settings import SealingSettings


class HotlineSettings(SealingSettings):
    """Settings of the hotline bridge."""

    service: str = "hotline_bridge"
    hotline_signing_secret: SecretStr | None = Field(
        default=None,
        description="the secret the hotline signs its pushes with (HMAC-SHA256). Required in "
        "production; dev and test derive one from the secret key",
    )
    signature_tolerance_seconds: int = Field(
        default=300, ge=1, le=3600, description="how old a signed push may be (replay window)"
    )
    hotline_format: str = Field(default="standard", description="the hotline's wire format")
    dispatch_catalogue: Path = Field(
        default=DEFAULT_CATALOGUE, description="the dispatch catalogue (JSON) of the city"
    )

    duplicate_window_days: int = Field(
        default=7, ge=1, le=90, description="an open ticket this recent is what a new one repeats"
    )
    repeat_window_days: int = Field(
        default=30, ge=1, le=365, description="the window repeated complaints are counted in"
    )
    repeat_threshold: int = Field(
        default=3, ge=2, le=100,
        description="complaints of one category at one address in the window that raise a "
        "RepeatedComplaintsNoticed (the cue for a proactive case)",
    )  # fmt: skip
    callback_url: str | None = Field(
        default=None,
        description="where replies are delivered (the hotline's endpoint); without one, replies "
        "wait as pending until it is set",
    )
    delivery_max_attempts: int = Field(
        default=10, ge=1, le=100, description="attempts before a reply is dead-lettered"
    )
    delivery_base_seconds: float = Field(
        default=5.0, gt=0, description="the first retry's ceiling; each next one doubles it"
    )
    delivery_cap_seconds: float = Field(
        default=1800.0, gt=0, description="the longest wait between two attempts"
    )
    delivery_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    delivery_poll_seconds: float = Field(
        default=1.0, gt=0, description="how often the delivery worker looks for due replies"
    )
    sweep_seconds: float = Field(
        default=60.0, gt=0, description="how often reminders are raised and triage retried"
    )
    due_soon_hours: float = Field(
        default=4.0, gt=0, description="a reminder goes out this long before a deadline"
    )
    open311_api_keys: dict[str, str] = Field(
        default_factory=dict,
        description='Open311 clients allowed to post requests, as JSON {"<api key>": "<client>"}; '
        "dev and test without any accept one key derived from the secret key",
    )

    @model_validator(mode="after")
    def _refuse_missing_signing_secret(self) -> Self:
        if self.environment == "production" and self.hotline_signing_secret is None:
            raise ValueError("WANGGE_HOTLINE_SIGNING_SECRET must be set in production")
        return self

    def signing_secret(self) -> bytes:
        """The push-signing secret (the setting, or in dev one derived from the secret key)."""
        if self.hotline_signing_secret is not None:
            return self.hotline_signing_secret.get_secret_value().encode()
        secret = self.secret_key.get_secret_value().encode()
        return hashlib.sha256(b"wangge hotline signing\x1f" + secret).hexdigest().encode()

    def open311_clients(self) -> dict[str, str]:
        """The Open311 API keys and whose they are."""
        if self.open311_api_keys or self.environment == "production":
            return dict(self.open311_api_keys)
        secret = self.secret_key.get_secret_value().encode()
        return {hashlib.sha256(b"wangge open311\x1f" + secret).hexdigest()[:32]: "dev"}
