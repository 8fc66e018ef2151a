"""``/xapi-clients``: the subdistrict admin issues and revokes the HTTP Basic credentials of
learning record providers and readers (:mod:`wangge.training.xapi_clients`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import BaseModel, Field

from wangge.service.auth import Principal, require
from wangge.training.api.access import Core
from wangge.training.xapi_clients import ClientRole, issue, revoke

router = APIRouter(prefix="/xapi-clients", tags=["xapi"])
Admin = Annotated[Principal, Depends(require("subdistrict_admin"))]
"""Who may send the record statements is the subdistrict's decision, as erasure is."""


class ClientCreate(BaseModel):
    name: str = Field(
        min_length=1, max_length=100, description="what the client is, e.g. 街道学习平台"
    )
    role: ClientRole = Field(description="provider: sends and reads statements; reader: reads")


class ClientIssued(BaseModel):
    """New credentials: the secret is shown this once and kept only hashed."""

    key: str = Field(description="the HTTP Basic user name")
    secret: str = Field(description="the HTTP Basic password")
    name: str
    role: ClientRole


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClientIssued)
async def issue_client(body: ClientCreate, principal: Admin, core: Core) -> ClientIssued:
    """Issue HTTP Basic credentials to an xAPI client, with a role."""
    issued = await issue(
        core.store.engine, name=body.name, role=body.role, issued_by=principal.subject
    )
    return ClientIssued(key=issued.key, secret=issued.secret, name=issued.name, role=issued.role)


@router.delete("/{client_key}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def revoke_client(
    client_key: Annotated[str, Path(max_length=40)], principal: Admin, core: Core
) -> Response:
    """Revoke a client's credentials (within a minute everywhere: checked credentials are
    remembered that long). A key not in force, unknown or revoked before, changes nothing."""
    await revoke(core.store.engine, client_key)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
