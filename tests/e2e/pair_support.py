"""The registry and the hotline bridge running side by side, the hotline's grid map following
the registry through its event table (embedded) or its Kafka topic; and signed messages from the
hotline."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from wangge.events.projection import active_tables
from wangge.hotline_bridge.app import MIGRATIONS, build_app
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, sign
from wangge.registry.config import RegistrySettings
from wangge.service.testing import started

from deployment_support import DEPLOYMENTS, deployment
from hotline_support import Hotline, push, ticket
from registry_support import Registry, Tree, build_tree
from registry_support import started as start_registry

# a square around the test grid (WGS 84)
SQUARE = [[118.70, 32.00], [118.76, 32.00], [118.76, 32.06], [118.70, 32.06], [118.70, 32.00]]
BOUNDARY = {"type": "Polygon", "coordinates": [SQUARE]}


@dataclass
class Pair:
    registry: Registry
    hotline: Hotline
    tree: Tree
    second_grid: str

    async def mapped(self, place_id: str) -> None:
        """Wait until the hotline's grid map holds the place with its address (its events and
        all its ancestors' arrived: on Kafka a dwelling may come before its building)."""
        state = self.hotline.app.state.service
        for _ in range(400):
            async with state.engine.connect() as conn:
                try:
                    places = (await active_tables(conn, state.projections["hotline_grid_map"]))[
                        "places"
                    ]
                except LookupError:
                    places = None
                if places is not None and await conn.scalar(
                    sa.select(places.c.place_id).where(
                        places.c.place_id == uuid.UUID(place_id), places.c.address.is_not(None)
                    )
                ):
                    return
            await asyncio.sleep(0.05)
        raise AssertionError(f"place {place_id} never reached the grid map")


@pytest.fixture(params=DEPLOYMENTS)
async def pair(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pair]:
    """The registry and the hotline bridge on the embedded default (the hotline reading the
    registry's SQLite file), or each in its PostgreSQL schema talking through Kafka (topics of a
    namespace of their own)."""
    marker = request.node.get_closest_marker("hotline")
    extra: dict[str, Any] = dict(marker.kwargs) if marker else {}
    settings = deployment(request, tmp_path, "reg", "hot")
    registry_settings = RegistrySettings(**settings["reg"])
    hotline_settings = HotlineSettings(**settings["hot"], **extra)
    async with start_registry(registry_settings) as registry:
        tree = await build_tree(registry)
        second = await registry.client.post(
            "/places",
            json={"kind": "grid", "name": "第2网格", "code": f"{tree.community_code}-002",
                  "parent_id": tree.community, "boundary": BOUNDARY},
            headers=tree.admin,
        )  # fmt: skip
        assert second.status_code == 201, second.text
        async with started(hotline_settings, build_app, MIGRATIONS) as hotline:
            pair = Pair(registry, hotline, tree, second.json()["place_id"])
            await pair.mapped(pair.second_grid)
            await pair.mapped(tree.dwelling)
            yield pair


async def routed(pair: Pair, address: str, **fields: Any) -> dict[str, Any]:
    response = await push(pair.hotline, ticket(address=address, **fields))
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    # the push answers with the row its events make, reckoned in memory: the read model's row
    read = await pair.hotline.client.get(
        f"/tickets/{view['ticket_id']}",
        headers=pair.hotline.as_("subdistrict_admin", places=[pair.tree.grid_code[:9]]),
    )
    assert read.json() == view
    return view


def hotline_message(hotline: Hotline, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A message the hotline signs now: its bytes and headers (sent again as they are, it is
    the same message)."""
    raw = json.dumps(body).encode()
    sent = int(time.time())
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP: str(sent),
        SIGNATURE: sign(hotline.settings.signing_secret(), sent, raw),
        **hotline.as_("hotline_system", subject="hotline-12345"),
    }
    return raw, headers


async def hotline_says(hotline: Hotline, path: str, body: dict[str, Any]) -> Any:
    """A signed message from the hotline (a follow-up, an extension decision)."""
    raw, headers = hotline_message(hotline, body)
    return await hotline.client.post(path, content=raw, headers=headers)
