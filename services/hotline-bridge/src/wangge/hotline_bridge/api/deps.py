"""What the hotline bridge's routes depend on: its core and what the core holds (typed), the
hotline's signed body, the roles, and whether a caller's places cover a ticket."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import Metadata
from wangge.events.telemetry import current_traceparent
from wangge.hotline_bridge.adapters import ADAPTERS, Adapter
from wangge.hotline_bridge.bootstrap import HotlineCore
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue
from wangge.hotline_bridge.personal_data import CallerKeys
from wangge.hotline_bridge.projections.grid_map import grid_code_of
from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, verify
from wangge.service.auth import Principal, require
from wangge.service.commands import correlation_id_of
from wangge.service.deps import core_of

HOTLINE = "hotline_system"
STAFF = ("subdistrict_admin", "community_staff", "grid_worker")

Core = Annotated[HotlineCore, Depends(core_of(HotlineCore))]


async def _keys(core: Core) -> CallerKeys:
    return core.keyring


async def _catalogue(core: Core) -> DispatchCatalogue:
    return core.catalogue


async def _settings(core: Core) -> HotlineSettings:
    return core.settings


async def _wire_format(core: Core) -> Adapter:
    return ADAPTERS[core.settings.hotline_format]


Keys = Annotated[CallerKeys, Depends(_keys)]
"""The callers' key ring."""
Catalogue = Annotated[DispatchCatalogue, Depends(_catalogue)]
"""The dispatch catalogue the service was started with."""
Settings = Annotated[HotlineSettings, Depends(_settings)]
WireFormat = Annotated[Adapter, Depends(_wire_format)]
"""The adapter of the hotline's wire format the service was started with."""

Hotline = Annotated[Principal, Depends(require(HOTLINE))]
Reader = Annotated[Principal, Depends(require(HOTLINE, "subdistrict_admin"))]
Anyone = Annotated[Principal, Depends(require(HOTLINE, *STAFF))]
Triage = Annotated[Principal, Depends(require("subdistrict_admin", "community_staff"))]
GridStaff = Annotated[Principal, Depends(require(*STAFF))]
Erasers = Annotated[Principal, Depends(require("subdistrict_admin", HOTLINE))]


async def signed_body(
    request: Request,
    settings: Settings,
    timestamp: Annotated[
        str | None, Header(alias=TIMESTAMP, description="Unix time the push was signed at")
    ] = None,
    signature: Annotated[
        str | None,
        Header(alias=SIGNATURE, description='"sha256=" + hex HMAC of "<timestamp>.<body>"'),
    ] = None,
) -> bytes:
    """The push's raw body, once its signature holds (401 otherwise)."""
    body = await request.body()
    verify(
        settings.signing_secret(),
        timestamp=timestamp,
        signature=signature,
        body=body,
        now=time.time(),
        tolerance=settings.signature_tolerance_seconds,
    )
    return body


SignedBody = Annotated[bytes, Depends(signed_body)]


def metadata_of(request: Request, principal: Principal) -> Metadata:
    """The envelope of what a request records: who asked, its correlation and trace (an
    ``X-Correlation-Id`` under the service kit's rule, else a 422 naming the header)."""
    return Metadata(
        actor=principal.subject,
        correlation_id=correlation_id_of(request),
        traceparent=current_traceparent(),
    )


async def covers(
    conn: AsyncConnection, core: HotlineCore, principal: Principal, grid_id: uuid.UUID | None
) -> bool:
    """Whether the caller's places cover a ticket of grid ``grid_id``; a ticket no grid took
    (triage, returned) is the subdistrict's and the communities' staff's."""
    if grid_id is None:
        return principal.has_any(("subdistrict_admin", "community_staff"))
    code = await grid_code_of(conn, await core.grid_map(conn), grid_id)
    return code is not None and principal.covers(code)
