"""``/forums``: forums (座谈会) recorded once held, with the suggestions made there, each followed
up once: adopted into the service list, answered, or declined with the reason; and the
suggestions across forums by what became of them ("everything adopted into the service list")."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel

from wangge.events.db import read_only
from wangge.service.commands import Command
from wangge.training.api.access import Core, Manager, Reader
from wangge.training.bounds import Moment
from wangge.training.domain import forums as f
from wangge.training.handlers import forums as handlers
from wangge.training.handlers.forums import FollowUp, ForumCreate, SuggestionCreate
from wangge.training.projections.development import (
    ForumDetail,
    ForumRead,
    ForumSuggestion,
    SuggestionRead,
    development_tables,
    forum_detail,
    forums_in_order,
    suggestion,
    suggestions_across,
)

router = APIRouter(prefix="/forums", tags=["forums"])


class SuggestionList(BaseModel):
    suggestions: list[ForumSuggestion]


class ForumList(BaseModel):
    forums: list[ForumRead]


async def _detail(core: Core, forum_id: uuid.UUID) -> ForumDetail:
    async with read_only(core.store.engine) as conn:
        return await forum_detail(conn, await development_tables(conn, core), forum_id)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ForumDetail)
async def hold_forum(
    body: ForumCreate, principal: Manager, core: Core, command: Command
) -> ForumDetail:
    """Record a forum that was held: topic, time, place, its participants and guests. The
    guests' names and the summary are sealed with the forum's key, shown masked and redacted."""
    return await _detail(core, await handlers.hold(command.commands, core, body))


@router.get("", response_model=ForumList)
async def list_forums(
    principal: Reader,
    core: Core,
    since: Annotated[Moment | None, Query(description="held at or after")] = None,
    until: Annotated[Moment | None, Query(description="held before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ForumList:
    """Forums in the order they were held."""
    async with read_only(core.store.engine) as conn:
        tables = await development_tables(conn, core)
        found = await forums_in_order(conn, tables, since=since, until=until, limit=limit)
    return ForumList(forums=found)


@router.get("/suggestions", response_model=SuggestionList)
async def list_suggestions(
    principal: Reader,
    core: Core,
    outcome: Annotated[f.Outcome | None, Query(description="what became of them")] = None,
    open_only: Annotated[bool, Query(alias="open", description="not yet followed up")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SuggestionList:
    """Suggestions across forums, in the order of their forums and then as recorded: e.g.
    ``?outcome=adopted``, everything adopted into the service list."""
    async with read_only(core.store.engine) as conn:
        found = await suggestions_across(
            conn, await development_tables(conn, core), outcome=outcome, open_only=open_only,
            limit=limit,
        )  # fmt: skip
    return SuggestionList(suggestions=found)


@router.get("/{forum_id}", response_model=ForumDetail)
async def read_forum(forum_id: uuid.UUID, principal: Reader, core: Core) -> ForumDetail:
    """A forum with its suggestions and what became of each."""
    return await _detail(core, forum_id)


@router.post("/{forum_id}/suggestions", status_code=status.HTTP_201_CREATED,
             response_model=SuggestionRead)  # fmt: skip
async def record_suggestion(
    forum_id: uuid.UUID, body: SuggestionCreate, principal: Manager, core: Core,
    command: Command,
) -> SuggestionRead:  # fmt: skip
    """Record a suggestion made at the forum, by a participant or (no ``by_worker``) a guest;
    its text is sealed with the participant's key (a guest's: the forum's), shown redacted."""
    version = await handlers.record_suggestion(
        command.commands, core.keyring, body, forum_id=forum_id
    )
    # a retry with the same Idempotency-Key answers the suggestion its first request recorded
    async with read_only(core.store.engine) as conn:
        tables = await development_tables(conn, core)
        return await suggestion(conn, tables, forum_id, recorded_version=version)


@router.post("/{forum_id}/suggestions/{suggestion_id}/follow-up", response_model=SuggestionRead)
async def follow_up(
    forum_id: uuid.UUID, suggestion_id: uuid.UUID, body: FollowUp, principal: Manager,
    core: Core, command: Command,
) -> SuggestionRead:  # fmt: skip
    """What became of a suggestion, once: adopted (naming what the service list gained),
    answered (the answer in ``note``) or declined (the reason in ``note``). The note is
    sealed with the key that sealed the suggestion, shown redacted."""
    await handlers.follow_up(
        command.commands, core.keyring, body, forum_id=forum_id, suggestion_id=suggestion_id
    )
    async with read_only(core.store.engine) as conn:
        tables = await development_tables(conn, core)
        return await suggestion(conn, tables, forum_id, suggestion_id=suggestion_id)
