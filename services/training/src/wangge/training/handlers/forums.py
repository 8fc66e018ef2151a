"""Commands on forums (座谈会): record one held, its suggestions, and what became of each."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from wangge.events.command import CommandRunner
from wangge.events.sealing import KeyRing
from wangge.governance.times import local_day
from wangge.training.bootstrap import TrainingCore
from wangge.training.bounds import Day, Moment
from wangge.training.domain import forums as f
from wangge.training.handlers import reading, start
from wangge.training.personal_data import seal_for
from wangge.training.projections.roster_queries import all_known, roster_tables


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


async def hold(commands: CommandRunner, core: TrainingCore, cmd: ForumCreate) -> uuid.UUID:
    """Record a forum that was held, its participants all on the roster; the guests' names and
    the summary are sealed with the forum's key. Returns the forum's id."""
    async with reading(commands) as conn:
        await all_known(conn, await roster_tables(conn, core), cmd.participants,
                        field="participants")  # fmt: skip
    forum_id = uuid.uuid4()
    seal = await seal_for(
        commands.store.engine, core.keyring, forum_id, cmd.guests, cmd.summary, field="guests"
    )
    events = f.hold(
        forum_id=forum_id, topic=cmd.topic, held_at=cmd.held_at, place=cmd.place,
        participants=cmd.participants, guests=list(cmd.guests), summary=cmd.summary,
        now=datetime.now(UTC), seal=seal,
    )  # fmt: skip
    return await start(commands, cmd, f.stream_id(forum_id), events)


async def record_suggestion(
    commands: CommandRunner, keys: KeyRing, cmd: SuggestionCreate, *, forum_id: uuid.UUID
) -> int:
    """Record a suggestion made at the forum, by a participant or (no ``by_worker``) a guest;
    its text is sealed with the participant's key (a guest's: the forum's). Returns the
    forum's version that recorded it (a retry's: the first attempt's)."""
    loaded = await commands.load(f.stream_id(forum_id), f.evolve, field="forum_id")
    assert loaded.state is not None
    # the domain refuses a suggestion by a worker who did not take part: no key for their id
    stranger = cmd.by_worker is not None and cmd.by_worker not in loaded.state.participants
    subject = cmd.by_worker or forum_id
    seal = await seal_for(
        commands.store.engine, keys, subject, not stranger and cmd.text, field="by_worker"
    )
    suggestion_id = cmd.suggestion_id or uuid.uuid4()
    result = await commands.change(
        cmd, loaded,
        lambda x: f.record_suggestion(
            x, suggestion_id=suggestion_id, by_worker=cmd.by_worker, text=cmd.text, seal=seal
        ),
    )  # fmt: skip
    assert result is not None  # a suggestion is always one event
    return result.last_version


async def follow_up(
    commands: CommandRunner, keys: KeyRing, cmd: FollowUp, *,
    forum_id: uuid.UUID, suggestion_id: uuid.UUID,
) -> None:  # fmt: skip
    """What became of a suggestion, once: adopted, answered or declined; the note is sealed
    with the key that sealed the suggestion."""
    loaded = await commands.load(f.stream_id(forum_id), f.evolve, field="forum_id")
    assert loaded.state is not None
    known = suggestion_id in loaded.state.suggestions  # else the domain refuses: no key made
    subject = loaded.state.subject_of(suggestion_id)
    seal = await seal_for(commands.store.engine, keys, subject, known and cmd.note, field="note")
    await commands.change(
        cmd, loaded,
        lambda x: f.follow_up(
            x, suggestion_id=suggestion_id, outcome=cmd.outcome, note=cmd.note,
            service_list_item=cmd.service_list_item, by=commands.actor,
            on=cmd.on or local_day(datetime.now(UTC)), seal=seal,
        ),
    )  # fmt: skip
