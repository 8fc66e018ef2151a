"""Fixtures for the handler tests: the hotline bridge's core on the embedded store, without its
web app; handlers called as a route would call them, with the registry's and the cases service's
event tables beside it, which the grid map and the reaction to cases catch up from
(``core.catch_up``), as in embedded mode."""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import Catalogue, IntegrationEvent, Metadata
from wangge.events.command import CommandRunner
from wangge.events.store import EventStore, open_store
from wangge.hotline_bridge.bootstrap import HotlineCore, bootstrap
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.consumed import cases, registry
from wangge.hotline_bridge.consumed.registry import PlaceRegistered
from wangge.hotline_bridge.domain.tickets import Channel, Intake, Urgency
from wangge.hotline_bridge.handlers.intake import NewTicket, take_in
from wangge.hotline_bridge.personal_data import metadata as key_tables
from wangge.service.standalone import standalone
from wangge.service.testing import backend_settings, own_schema

GRID_CODE = "320111001-001-001"
UPSTREAM = Catalogue()
"""The other services' events as their stores write them (this service's readers of them)."""
for _reader in (
    registry.PlaceRegistered, registry.GridBoundaryDrawn, registry.PersonMovedIn,
    registry.PersonMovedOut, registry.PersonMerged, registry.PersonMergeUndone,
):  # fmt: skip
    UPSTREAM.register(_reader, service="registry")
for _model in (cases.CaseOpened, cases.CaseAccepted, cases.CaseResolved):
    UPSTREAM.register(_model, service="cases")


def intake(number: str | None = None, **fields: Any) -> Intake:
    """A ticket as the standard adapter reads a push; ``fields`` replace its own."""
    values: dict[str, Any] = {
        "ticket_number": number or f"GD{uuid.uuid4().hex[:12].upper()}",
        "channel": Channel.PHONE,
        "received_at": datetime.now(UTC),
        "category_code": "0301",
        "content": "楼下餐馆晚上十点后仍在营业 油烟和噪声扰民",
        "address": "沿江街道滨江社区12栋2单元1201",
        "urgency": Urgency.NORMAL,
        "fingerprint": "push-1",
        "caller_name": "王小明",
        "caller_phone": "13812345678",
    }
    return Intake(**(values | fields))


async def _ticket_id(
    conn: AsyncConnection, ticket_id: uuid.UUID, new: NewTicket | None
) -> uuid.UUID:
    return ticket_id


@dataclass
class Bridge:
    core: HotlineCore
    registry: EventStore
    """The registry's event table on the same database (the grid map's upstream)."""
    cases: EventStore
    """The cases service's event table (the reaction's upstream)."""
    grid_id: uuid.UUID

    def commands(
        self,
        actor: str = "hotline-12345",
        *,
        idempotency_key: str | None = None,
        expected_version: int | None = None,
    ) -> CommandRunner:
        """A command as ``actor`` sends it."""
        return self.core.commands(
            Metadata(actor=actor),
            idempotency_key=idempotency_key,
            expected_version=expected_version,
        )

    async def push(self, pushed: Intake, *, queue: bool = True) -> tuple[uuid.UUID, bool]:
        """Take a ticket in as a push is taken in (through the group-commit queue)."""
        core = self.core
        return await take_in(
            self.commands(), pushed, keyring=core.keyring, catalogue=core.catalogue,
            settings=core.settings, queue=core.intakes if queue else None, view=_ticket_id,
        )  # fmt: skip

    async def upstream(self) -> int:
        """Catch the grid map and the reaction up with the registry's and the cases' tables."""
        return await self.core.catch_up(upstream={"registry": self.registry, "cases": self.cases})


async def _register(registry: EventStore, places: list[PlaceRegistered]) -> None:
    for place in places:
        await registry.append(
            f"place-{place.place_id}", [place], expected_version=0, metadata=Metadata()
        )


async def append(store: EventStore, stream: str, events: list[IntegrationEvent]) -> None:
    """Another service's events, as its own store records them."""
    await store.append(stream, events, expected_version=None, metadata=Metadata(actor="other"))


@pytest.fixture
async def bridge(tmp_path: Path) -> AsyncIterator[Bridge]:
    settings = backend_settings(HotlineSettings, "sqlite", tmp_path, None, "hot")
    async with bridge_on(settings) as made:
        yield made


@asynccontextmanager
async def bridge_on(settings: HotlineSettings) -> AsyncIterator[Bridge]:
    """The bridge's core on ``settings``' database (a schema of its own on PostgreSQL), with
    the registry's and the cases service's event tables beside it and a grid registered."""
    made = functools.partial(bootstrap, settings)
    async with own_schema(settings), standalone(settings, made, create_schema=True) as core:
        # the key table is a migration's (0002); a test's fresh database makes it here
        async with core.store.engine.begin() as conn:
            await conn.run_sync(key_tables.create_all)
        places = open_store(core.store.engine, service="registry", catalogue=UPSTREAM)
        cased = open_store(core.store.engine, service="cases", catalogue=UPSTREAM)
        await places.create_schema()
        await cased.create_schema()
        subdistrict, community, grid, building = (uuid.uuid4() for _ in range(4))
        await _register(
            places,
            [
                PlaceRegistered(
                    place_id=subdistrict, kind="subdistrict", name="沿江街道", code="320111001"
                ),
                PlaceRegistered(
                    place_id=community, kind="community", name="滨江社区",
                    code="320111001-001", parent_id=subdistrict,
                ),
                PlaceRegistered(
                    place_id=grid, kind="grid", name="第一网格", code=GRID_CODE,
                    parent_id=community,
                ),
                PlaceRegistered(
                    place_id=building, kind="building", name="12栋", number="12栋",
                    parent_id=grid,
                ),
            ],
        )  # fmt: skip
        bridge = Bridge(core, places, cased, grid)
        await bridge.upstream()
        yield bridge
