"""``/forums``: forums (座谈会) recorded once held, with the suggestions made there, each followed
up once: adopted into the service list, answered, or declined with the reason; and the
suggestions across forums by what became of them ("everything adopted into the service list")."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import read_only
from wangge.governance.errors import NotFound
from wangge.governance.times import StoredTime, local_day, utc
from wangge.service.app import ServiceState
from wangge.service.commands import Command
from wangge.service.deps import State
from wangge.training.api.access import Manager, Reader, UnknownWorker
from wangge.training.api.bounds import Day, Moment
from wangge.training.api.personal import Keys, seal_for
from wangge.training.domain import forums as f
from wangge.training.tables import development, roster

router = APIRouter(prefix="/forums", tags=["forums"])


class ForumCreate(BaseModel):
    topic: str = Field(min_length=1, max_length=200, description="e.g. 网格服务清单怎么改")
    held_at: Moment
    place: str = Field(min_length=1, max_length=200)
    participants: list[uuid.UUID] = Field(
        min_length=1, max_length=f.MAX_PARTICIPANTS, description="grid workers on the roster"
    )
    guests: list[f.Name] = Field(default_factory=list, max_length=100)
    summary: str = Field(default="", max_length=4000)


class SuggestionCreate(BaseModel):
    text: str = Field(min_length=1, max_length=2000)
    by_worker: uuid.UUID | None = Field(default=None, description="a participant; none: a guest")
    suggestion_id: uuid.UUID | None = Field(
        default=None, description="chosen by the client, or made by the service"
    )


class FollowUp(BaseModel):
    outcome: f.Outcome
    note: str = Field(
        default="", max_length=2000, description="the answer, or the reason it was declined"
    )
    service_list_item: str | None = Field(
        default=None, max_length=200, description="adopted: what the service list gained"
    )
    on: Day | None = Field(default=None, description="today if none; not before the forum")


class SuggestionRead(BaseModel):
    suggestion_id: uuid.UUID
    forum_id: uuid.UUID
    by_worker: uuid.UUID | None
    text: str
    outcome: f.Outcome | None = Field(description="none until followed up")
    note: str
    service_list_item: str | None
    followed_up_on: date | None
    followed_up_by: str | None


class ForumSuggestion(SuggestionRead):
    """A suggestion listed across forums, with its forum's topic and time."""

    topic: str
    held_at: StoredTime


class SuggestionList(BaseModel):
    suggestions: list[ForumSuggestion]


class ForumRead(BaseModel):
    forum_id: uuid.UUID
    topic: str
    held_at: StoredTime
    place: str
    participants: list[uuid.UUID]
    guests: list[str]
    summary: str
    suggestions_made: int
    suggestions_open: int = Field(description="not yet followed up")
    version: int


class ForumDetail(ForumRead):
    suggestions: list[SuggestionRead] = Field(description="in the order they were recorded")


class ForumList(BaseModel):
    forums: list[ForumRead]


async def _counts(
    conn: AsyncConnection, tables: Any, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    s = tables["suggestions"]
    rows = await conn.execute(
        sa.select(
            s.c.forum_id, sa.func.count(), sa.func.count(s.c.outcome)
        )
        .where(s.c.forum_id.in_(ids))
        .group_by(s.c.forum_id)
    )  # fmt: skip
    return {forum_id: (made, made - done) for forum_id, made, done in rows}


def _read(row: Any, counts: tuple[int, int]) -> ForumRead:
    return ForumRead(
        **{k: getattr(row, k) for k in ForumRead.model_fields if not k.startswith("suggestions")},
        suggestions_made=counts[0],
        suggestions_open=counts[1],
    )


async def _detail(state: ServiceState, forum_id: uuid.UUID) -> ForumDetail:
    async with read_only(state.engine) as conn:
        tables = await development(conn, state)
        t, s = tables["forums"], tables["suggestions"]
        row = (await conn.execute(sa.select(t).where(t.c.forum_id == forum_id))).first()
        if row is None:
            raise NotFound(f"no forum {forum_id}", field="forum_id")
        suggestions = (
            await conn.execute(
                sa.select(s).where(s.c.forum_id == forum_id).order_by(s.c.recorded_version)
            )
        ).all()
        counts = (await _counts(conn, tables, [forum_id])).get(forum_id, (0, 0))
    return ForumDetail(
        **_read(row, counts).model_dump(),
        suggestions=[SuggestionRead.model_validate(x, from_attributes=True) for x in suggestions],
    )


async def _suggestion(state: ServiceState, forum_id: uuid.UUID, **key: Any) -> SuggestionRead:
    async with read_only(state.engine) as conn:
        s = (await development(conn, state))["suggestions"]
        query = sa.select(s).where(s.c.forum_id == forum_id)
        for column, value in key.items():
            query = query.where(s.c[column] == value)
        row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound("no such suggestion", field="suggestion_id")
    return SuggestionRead.model_validate(row, from_attributes=True)


async def _on_roster(conn: AsyncConnection, state: ServiceState, ids: list[uuid.UUID]) -> None:
    """Every participant is on the roster (422 naming ``participants`` otherwise)."""
    tables = await roster(conn, state)
    known: set[uuid.UUID] = set()
    if tables is not None:
        w = tables["workers"]
        known = set(await conn.scalars(sa.select(w.c.worker_id).where(w.c.worker_id.in_(ids))))
    for worker_id in ids:
        if worker_id not in known:
            raise UnknownWorker(f"no grid worker {worker_id} on the roster", field="participants")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ForumDetail)
async def hold_forum(
    body: ForumCreate, principal: Manager, state: State, command: Command, keys: Keys
) -> ForumDetail:
    """Record a forum that was held: topic, time, place, its participants and guests. The
    guests' names and the summary are sealed with the forum's key, shown masked and redacted."""
    async with read_only(state.engine) as conn:
        await _on_roster(conn, state, body.participants)
    forum_id = uuid.uuid4()
    seal = await seal_for(state, keys, forum_id, body.guests, body.summary, field="guests")
    events = f.hold(
        forum_id=forum_id, topic=body.topic, held_at=body.held_at, place=body.place,
        participants=body.participants, guests=list(body.guests), summary=body.summary,
        now=datetime.now(UTC), seal=seal,
    )  # fmt: skip
    result = await command.create(body, f.stream_id(forum_id), lambda: events)
    return await _detail(state, uuid.UUID(result.stream_id.removeprefix("forum-")))


@router.get("", response_model=ForumList)
async def list_forums(
    principal: Reader,
    state: State,
    since: Annotated[Moment | None, Query(description="held at or after")] = None,
    until: Annotated[Moment | None, Query(description="held before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ForumList:
    """Forums in the order they were held."""
    async with read_only(state.engine) as conn:
        tables = await development(conn, state)
        t = tables["forums"]
        query = sa.select(t).order_by(t.c.held_at, t.c.forum_id).limit(limit)
        if since is not None:
            query = query.where(t.c.held_at >= utc(since))
        if until is not None:
            query = query.where(t.c.held_at < utc(until))
        rows = (await conn.execute(query)).all()
        counts = await _counts(conn, tables, [r.forum_id for r in rows])
    return ForumList(forums=[_read(r, counts.get(r.forum_id, (0, 0))) for r in rows])


@router.get("/suggestions", response_model=SuggestionList)
async def list_suggestions(
    principal: Reader,
    state: State,
    outcome: Annotated[f.Outcome | None, Query(description="what became of them")] = None,
    open_only: Annotated[bool, Query(alias="open", description="not yet followed up")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SuggestionList:
    """Suggestions across forums, in the order of their forums and then as recorded: e.g.
    ``?outcome=adopted``, everything adopted into the service list."""
    async with read_only(state.engine) as conn:
        tables = await development(conn, state)
        t, s = tables["forums"], tables["suggestions"]
        query = (
            sa.select(s, t.c.topic, t.c.held_at)
            .join(t, t.c.forum_id == s.c.forum_id)
            .order_by(t.c.held_at, t.c.forum_id, s.c.recorded_version)
            .limit(limit)
        )
        if outcome is not None:
            query = query.where(s.c.outcome == outcome)
        if open_only:
            query = query.where(s.c.outcome.is_(None))
        rows = (await conn.execute(query)).all()
    return SuggestionList(
        suggestions=[ForumSuggestion.model_validate(r, from_attributes=True) for r in rows]
    )


@router.get("/{forum_id}", response_model=ForumDetail)
async def read_forum(forum_id: uuid.UUID, principal: Reader, state: State) -> ForumDetail:
    """A forum with its suggestions and what became of each."""
    return await _detail(state, forum_id)


@router.post("/{forum_id}/suggestions", status_code=status.HTTP_201_CREATED,
             response_model=SuggestionRead)  # fmt: skip
async def record_suggestion(
    forum_id: uuid.UUID, body: SuggestionCreate, principal: Manager, state: State,
    command: Command, keys: Keys,
) -> SuggestionRead:  # fmt: skip
    """Record a suggestion made at the forum, by a participant or (no ``by_worker``) a guest;
    its text is sealed with the participant's key (a guest's: the forum's), shown redacted."""
    loaded = await command.load(f.stream_id(forum_id), f.evolve, field="forum_id")
    assert loaded.state is not None
    # the domain refuses a suggestion by a worker who did not take part: no key for their id
    stranger = body.by_worker is not None and body.by_worker not in loaded.state.participants
    subject = body.by_worker or forum_id
    seal = await seal_for(state, keys, subject, not stranger and body.text, field="by_worker")
    suggestion_id = body.suggestion_id or uuid.uuid4()
    result = await command.change(
        body, loaded,
        lambda x: f.record_suggestion(
            x, suggestion_id=suggestion_id, by_worker=body.by_worker, text=body.text, seal=seal
        ),
    )  # fmt: skip
    assert result is not None  # a suggestion is always one event
    # a retry with the same Idempotency-Key answers the suggestion its first request recorded
    return await _suggestion(state, forum_id, recorded_version=result.last_version)


@router.post("/{forum_id}/suggestions/{suggestion_id}/follow-up", response_model=SuggestionRead)
async def follow_up(
    forum_id: uuid.UUID, suggestion_id: uuid.UUID, body: FollowUp, principal: Manager,
    state: State, command: Command, keys: Keys,
) -> SuggestionRead:  # fmt: skip
    """What became of a suggestion, once: adopted (naming what the service list gained),
    answered (the answer in ``note``) or declined (the reason in ``note``). The note is
    sealed with the key that sealed the suggestion, shown redacted."""
    loaded = await command.load(f.stream_id(forum_id), f.evolve, field="forum_id")
    assert loaded.state is not None
    known = suggestion_id in loaded.state.suggestions  # else the domain refuses: no key made
    subject = loaded.state.subject_of(suggestion_id)
    seal = await seal_for(state, keys, subject, known and body.note, field="note")
    await command.change(
        body, loaded,
        lambda x: f.follow_up(
            x, suggestion_id=suggestion_id, outcome=body.outcome, note=body.note,
            service_list_item=body.service_list_item, by=principal.subject,
            on=body.on or local_day(datetime.now(UTC)), seal=seal,
        ),
    )  # fmt: skip
    return await _suggestion(state, forum_id, suggestion_id=suggestion_id)
