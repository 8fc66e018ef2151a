"""Erasure of personal data (PIPL article 47): a worker's, a session's (its instructors) or a
forum's (its guests) key is destroyed, and the erasure recorded, in one transaction."""

from __future__ import annotations

import uuid

from wangge.events.command import CommandRunner, UnitOfWork, load
from wangge.events.sealing import KeyRing
from wangge.governance.erasure import Erasure
from wangge.training.domain import erasure as e
from wangge.training.domain import forums as f
from wangge.training.domain import sessions as s
from wangge.training.domain.erasure import TrainingPersonalDataErased


async def erase(
    commands: CommandRunner, keys: KeyRing, cmd: Erasure, *,
    subject_id: uuid.UUID, subject: e.Subject,
) -> TrainingPersonalDataErased:  # fmt: skip
    """Destroy the subject's key and record the erasure; asked again, the first erasure (and
    nothing recorded). The subject's existence is the caller's to check."""
    loaded = await load(commands.store, e.stream_id(subject_id), e.evolve)

    async def shred(unit: UnitOfWork) -> None:
        await keys.destroy(unit.conn, subject_id)

    decided = e.erase(
        loaded.state, subject_id=subject_id, subject=subject, legal_ground=cmd.legal_ground
    )
    if decided:
        await commands.create(cmd, loaded.stream_id, lambda: decided, also=shred)
        loaded = await load(commands.store, e.stream_id(subject_id), e.evolve)
    assert loaded.state is not None
    return loaded.state


async def erase_worker(
    commands: CommandRunner, keys: KeyRing, cmd: Erasure, *, worker_id: uuid.UUID
) -> TrainingPersonalDataErased:
    """Erase what the service sealed about a worker (notes, reasons, secondments,
    suggestions)."""
    return await erase(commands, keys, cmd, subject_id=worker_id, subject=e.Subject.WORKER)


async def erase_session(
    commands: CommandRunner, keys: KeyRing, cmd: Erasure, *, session_id: uuid.UUID
) -> TrainingPersonalDataErased:
    """Erase a session's instructors' names and its reasons (404 for no such session)."""
    await commands.load(s.stream_id(session_id), s.evolve, field="session_id")
    return await erase(commands, keys, cmd, subject_id=session_id, subject=e.Subject.SESSION)


async def erase_forum(
    commands: CommandRunner, keys: KeyRing, cmd: Erasure, *, forum_id: uuid.UUID
) -> TrainingPersonalDataErased:
    """Erase a forum's guests' names, its summary and its guests' suggestions (404 for no such
    forum)."""
    await commands.load(f.stream_id(forum_id), f.evolve, field="forum_id")
    return await erase(commands, keys, cmd, subject_id=forum_id, subject=e.Subject.FORUM)
