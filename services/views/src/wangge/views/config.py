"""The views service's settings (``WANGGE_*`` variables; see ``wangge.service.settings``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from wangge.service.settings import ServiceSettings


class ViewsSettings(ServiceSettings):
    """Settings of the views service. It holds no data keys (it is not a sealing service): every
    personal field it shows is the masked display value the producer put in clear."""

    service: str = "views"
    feeds_catalogue: Path | None = Field(
        default=None,
        description="the department catalogue (which facts go to which department's feed); "
        "default: the feeds.toml shipped with the service. A changed file rebuilds the feeds",
    )
    dashboards_warm_seconds: float = Field(
        default=5.0,
        ge=0,
        description="how often the service looks whether the dashboards' rows stood still since "
        "its last look and, if they did, renders every area's dashboard for today before anyone "
        "asks (the subdistrict's takes seconds to compute); 0: never, each is computed on its "
        "first read",
    )
