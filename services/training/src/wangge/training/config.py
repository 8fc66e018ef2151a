"""The training service's settings (``WANGGE_*`` variables; see ``wangge.service.settings``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from wangge.service.settings import SealingSettings


class TrainingSettings(SealingSettings):
    """Settings of the training service (it seals workers' and outside people's data)."""

    service: str = "training"
    xapi_home_page: str = Field(
        default="https://training.wangge.invalid",
        description="the homePage of the workers' xAPI accounts: the deployment's address "
        "(an account's name is the worker's pseudonymous id)",
    )
    seed: Literal["year"] | None = Field(
        default=None,
        description="year: once the roster has the registry's workers, seed a year of training "
        "for them, once (development; make run sets it)",
    )
