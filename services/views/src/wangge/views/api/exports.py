"""``/exports``: the record an analyst's export of the event log needs before it starts
(``wangge replay export``). The export itself reads Kafka; what this route guards is the
sanctioned way out: it names who exported what, and an analyst's export is pseudonymised, which
only a subdistrict's admins may waive. An export holds the whole deployment's events: an admin's
places must cover the deployment (404 otherwise, as for the triage queue); analysts read with no
place scope, as they read figures."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from wangge.events.db import read_only
from wangge.governance.errors import Forbidden, NotFound
from wangge.service.auth import Principal, require
from wangge.service.commands import Command
from wangge.service.responses import problems
from wangge.views.api.access import Core, ViewNotReady, require_scope, roster_tables
from wangge.views.domain.audit import DatasetExported
from wangge.views.handlers.audit import record_export

router = APIRouter(prefix="/exports", tags=["exports"])
Exporter = Annotated[Principal, Depends(require("analyst", "subdistrict_admin"))]
"""Analysts (pseudonymised only) and a subdistrict's admins."""
CLEAR = "subdistrict_admin"
"""The role that may export identifiers in clear (a sanctioned purpose, still recorded)."""


class ExportAsked(BaseModel):
    """What an export will hold, as the replay's manifest says."""

    model_config = ConfigDict(extra="forbid")

    topics: list[Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,200}$")]] = Field(
        min_length=1, max_length=50
    )
    from_time: datetime | None = Field(default=None, description="``--since``: from this moment")
    until_time: datetime | None = Field(default=None, description="``--until``: up to it")
    as_of: date | None = None
    format: Literal["parquet", "jsonl"] = "parquet"
    policy: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the policy file")
    key: str = Field(pattern=r"^[0-9a-f]{16}$", description="the export key's id")
    pseudonymised: bool = Field(
        description="whether the policy keyed-hashes or leaves out every identifier"
    )


class ExportRecorded(BaseModel):
    """The export's record: its id goes into the dataset's manifest."""

    export_id: uuid.UUID
    reader: str
    pseudonymised: bool


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ExportRecorded,
    responses=problems(Forbidden, NotFound, ViewNotReady),
)
async def record(
    body: ExportAsked, principal: Exporter, core: Core, command: Command
) -> ExportRecorded:
    """Record an export of the event log before it starts (``wangge replay export`` asks this
    itself). An analyst's export in clear is a 403 naming ``pseudonymised``."""
    if not body.pseudonymised and not principal.has_any([CLEAR]):
        raise Forbidden(
            "an analyst's export is pseudonymised: only a subdistrict's admins may export "
            "identifiers in clear",
            field="pseudonymised",
        )
    async with read_only(core.store.engine) as conn:
        roster = await roster_tables(conn, core)
        await require_scope(conn, roster, principal, [], "deployment's events", field="path")
    export = DatasetExported(export_id=uuid.uuid4(), reader=principal.subject, **body.model_dump())
    await record_export(command.commands, export)
    return ExportRecorded(
        export_id=export.export_id, reader=export.reader, pseudonymised=export.pseudonymised
    )
