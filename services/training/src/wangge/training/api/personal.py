"""Erasure over HTTP (``DELETE .../personal-data``) of a worker's, a session's or a forum's
sealed data, and of the statements providers sent about an outside actor: the subdistrict
admin's decision."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from wangge.events.db import read_only
from wangge.governance.erasure import Erasure, ErasureGround
from wangge.service.auth import Principal, require
from wangge.service.commands import Command
from wangge.service.responses import problems
from wangge.training.api.access import Core, readable_worker
from wangge.training.domain import erasure as e
from wangge.training.domain.erasure import TrainingPersonalDataErased
from wangge.training.domain.xapi_rules import InvalidStatement
from wangge.training.handlers import erasure as handlers
from wangge.training.handlers import received_statements as statement_handlers
from wangge.training.handlers.received_statements import ActorErasure
from wangge.training.projections.roster_queries import roster_tables

router = APIRouter(tags=["personal data"])
Admin = Annotated[Principal, Depends(require("subdistrict_admin"))]
"""Erasure is the subdistrict's decision (DESIGN §7), as in the registry."""


class ErasureRead(BaseModel):
    """An erasure, as first recorded (asking again changes nothing)."""

    subject_id: uuid.UUID
    subject: e.Subject
    legal_ground: ErasureGround = Field(description="the first erasure's")


def _read(erased: TrainingPersonalDataErased) -> ErasureRead:
    return ErasureRead.model_validate(erased, from_attributes=True)


@router.delete("/workers/{worker_id}/personal-data", response_model=ErasureRead)
async def erase_worker(
    worker_id: uuid.UUID, body: Erasure, principal: Admin, core: Core, command: Command
) -> ErasureRead:
    """Erase what the service sealed about a worker (notes, reasons, secondments, suggestions):
    their key is destroyed for good."""
    async with read_only(core.store.engine) as conn:
        await readable_worker(conn, await roster_tables(conn, core), principal, worker_id)
    return _read(
        await handlers.erase_worker(command.commands, core.keyring, body, worker_id=worker_id)
    )


@router.delete("/sessions/{session_id}/personal-data", response_model=ErasureRead)
async def erase_session(
    session_id: uuid.UUID, body: Erasure, principal: Admin, core: Core, command: Command
) -> ErasureRead:
    """Erase a session's instructors' names and its reasons: the session's key is destroyed."""
    return _read(
        await handlers.erase_session(command.commands, core.keyring, body, session_id=session_id)
    )


@router.delete("/forums/{forum_id}/personal-data", response_model=ErasureRead)
async def erase_forum(
    forum_id: uuid.UUID, body: Erasure, principal: Admin, core: Core, command: Command
) -> ErasureRead:
    """Erase a forum's guests' names, its summary and its guests' suggestions: the forum's key
    is destroyed."""
    return _read(
        await handlers.erase_forum(command.commands, core.keyring, body, forum_id=forum_id)
    )


class ActorErasureRead(BaseModel):
    """An outside xAPI actor's erasure, as first recorded (asking again changes nothing)."""

    actor_id: uuid.UUID = Field(description="the actor's pseudonymous id")
    legal_ground: ErasureGround = Field(description="the first erasure's")


@router.post(
    "/xapi-actors/erasure",
    response_model=ActorErasureRead,
    responses=problems(InvalidStatement),
)
async def erase_xapi_actor(
    body: ActorErasure, principal: Admin, core: Core, command: Command
) -> ActorErasureRead:
    """Erase the statements providers sent about an actor from outside the roster (found by
    the keyed hash of their identifier, never the identifier): their key is destroyed."""
    erased = await statement_handlers.erase_actor(command.commands, core, body)
    return ActorErasureRead(actor_id=erased.actor_id, legal_ground=erased.legal_ground)
