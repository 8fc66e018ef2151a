"""Personal data over HTTP: the key ring a command seals with, and erasure
(``DELETE .../personal-data``) of a worker's, a session's or a forum's sealed data."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from wangge.events.command import UnitOfWork, load
from wangge.events.db import read_only
from wangge.events.sealing import KeyRing, Seal
from wangge.governance.erasure import Erasure, ErasureGround
from wangge.service.auth import Principal, require
from wangge.service.commands import Command
from wangge.service.deps import State, core_of
from wangge.training.api.access import readable_worker
from wangge.training.bootstrap import TrainingCore
from wangge.training.domain import erasure as e
from wangge.training.domain import forums as f
from wangge.training.domain import sessions as s
from wangge.training.personal_data import sealer

router = APIRouter(tags=["personal data"])
Admin = Annotated[Principal, Depends(require("subdistrict_admin"))]
"""Erasure is the subdistrict's decision (DESIGN §7), as in the registry."""


async def keyring(core: Annotated[TrainingCore, Depends(core_of(TrainingCore))]) -> KeyRing:
    """The training service's key ring (its bootstrap made it)."""
    return core.keyring


Keys = Annotated[KeyRing, Depends(keyring)]


async def seal_for(
    state: State, keys: KeyRing, subject_id: uuid.UUID, *texts: object, field: str
) -> Seal | None:
    """The subject's seal when there is text to seal (None when every text is empty, so that a
    command without free text neither makes a key nor is refused after an erasure)."""
    if not any(texts):
        return None
    return await sealer(state, keys, subject_id, field=field)


class ErasureRead(BaseModel):
    """An erasure, as first recorded (asking again changes nothing)."""

    subject_id: uuid.UUID
    subject: e.Subject
    legal_ground: ErasureGround = Field(description="the first erasure's")


async def _erase(
    command: Command, keys: KeyRing, subject_id: uuid.UUID, subject: e.Subject, body: Erasure
) -> ErasureRead:
    loaded = await load(command.state.store, e.stream_id(subject_id), e.evolve)

    async def shred(unit: UnitOfWork) -> None:
        await keys.destroy(unit.conn, subject_id)

    decide = e.erase(
        loaded.state, subject_id=subject_id, subject=subject, legal_ground=body.legal_ground
    )
    if decide:
        await command.create(body, loaded.stream_id, lambda: decide, also=shred)
        loaded = await load(command.state.store, e.stream_id(subject_id), e.evolve)
    assert loaded.state is not None
    return ErasureRead.model_validate(loaded.state, from_attributes=True)


@router.delete("/workers/{worker_id}/personal-data", response_model=ErasureRead)
async def erase_worker(
    worker_id: uuid.UUID, body: Erasure, principal: Admin, state: State, command: Command,
    keys: Keys,
) -> ErasureRead:  # fmt: skip
    """Erase what the service sealed about a worker (notes, reasons, secondments, suggestions):
    their key is destroyed for good."""
    async with read_only(state.engine) as conn:
        await readable_worker(conn, state, principal, worker_id)
    return await _erase(command, keys, worker_id, e.Subject.WORKER, body)


@router.delete("/sessions/{session_id}/personal-data", response_model=ErasureRead)
async def erase_session(
    session_id: uuid.UUID, body: Erasure, principal: Admin, command: Command, keys: Keys
) -> ErasureRead:
    """Erase a session's instructors' names and its reasons: the session's key is destroyed."""
    await command.load(s.stream_id(session_id), s.evolve, field="session_id")
    return await _erase(command, keys, session_id, e.Subject.SESSION, body)


@router.delete("/forums/{forum_id}/personal-data", response_model=ErasureRead)
async def erase_forum(
    forum_id: uuid.UUID, body: Erasure, principal: Admin, command: Command, keys: Keys
) -> ErasureRead:
    """Erase a forum's guests' names, its summary and its guests' suggestions: the forum's key
    is destroyed."""
    await command.load(f.stream_id(forum_id), f.evolve, field="forum_id")
    return await _erase(command, keys, forum_id, e.Subject.FORUM, body)
