"""The views service's tests: the producers' stores and a views core beside them
(``views_support``), on the embedded store, or on PostgreSQL for a test marked ``postgres``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from wangge.views.bootstrap import ViewsCore

from views_support import Upstream, world


@pytest.fixture
async def views(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Upstream, ViewsCore]]:
    """The producers' stores and the views core (on PostgreSQL for a test marked so)."""
    if request.node.get_closest_marker("postgres") is not None:
        url = request.getfixturevalue("database_url")
        async with world(tmp_path, "postgres", url) as made:
            yield made
    else:
        async with world(tmp_path) as made:
            yield made
