"""The cases service's settings (``WANGGE_*`` variables; see ``wangge.service.settings``)."""

from __future__ import annotations

from pydantic import Field

from wangge.service.settings import SealingSettings


class CasesSettings(SealingSettings):
    """Settings of the cases service."""

    service: str = "cases"
    confirmation_remind_days: int = Field(
        default=7,
        ge=0,
        le=30,
        description="how many days before an agreement's window for judicial confirmation "
        "(司法确认) closes its mediators and worker are reminded",
    )
    sweep_seconds: float = Field(
        default=600.0, gt=0, description="how often reminders and lapses are looked for"
    )
