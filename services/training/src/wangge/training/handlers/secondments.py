"""Commands on secondments: arrange one for a worker on the roster, extend it, evaluate it goal
by goal or cancel it (either closes it). Its free text is sealed with the worker's key."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from wangge.events import DomainEvent
from wangge.events.command import CommandRunner
from wangge.events.sealing import KeyRing, Seal
from wangge.governance.times import local_day
from wangge.training.bootstrap import TrainingCore
from wangge.training.bounds import Day
from wangge.training.domain import secondments as sec
from wangge.training.handlers import reading, start
from wangge.training.personal_data import seal_for
from wangge.training.projections.roster_queries import known_worker, roster_tables


class SecondmentCreate(BaseModel):
    worker_id: uuid.UUID
    host_kind: sec.HostKind
    host: str = Field(min_length=1, max_length=200, description="e.g. 街道便民服务大厅")
    starts_on: Day
    ends_on: Day = Field(description="the last day of the secondment (at most 366 days)")
    mentor: str = Field(min_length=1, max_length=100)
    goals: list[sec.Goal] = Field(min_length=1, max_length=sec.MAX_GOALS)


class Extension(BaseModel):
    ends_on: Day = Field(description="the new last day")
    reason: str = Field(min_length=1, max_length=500)


class Evaluation(BaseModel):
    rating: sec.Rating
    goals_met: list[bool] = Field(
        min_length=1, max_length=sec.MAX_GOALS, description="for each goal, in order"
    )
    summary: str = Field(min_length=1, max_length=2000)
    evaluated_on: Day | None = Field(default=None, description="the day given (today if none)")


class Reason(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


async def arrange(commands: CommandRunner, core: TrainingCore, cmd: SecondmentCreate) -> uuid.UUID:
    """Arrange a secondment for a worker on the roster; the mentor's name and the goals are
    sealed with the worker's key. Returns the secondment's id."""
    async with reading(commands) as conn:
        await known_worker(conn, await roster_tables(conn, core), cmd.worker_id)
    seal = await seal_for(
        commands.store.engine, core.keyring, cmd.worker_id, "mentor", field="worker_id"
    )
    secondment_id = uuid.uuid4()
    events = sec.arrange(secondment_id=secondment_id, **cmd.model_dump(exclude={"goals"}),
                         goals=list(cmd.goals), seal=seal)  # fmt: skip
    return await start(commands, cmd, sec.stream_id(secondment_id), events)


async def _change(
    commands: CommandRunner,
    keys: KeyRing,
    secondment_id: uuid.UUID,
    cmd: BaseModel,
    text: str,
    decide: Callable[[sec.Secondment, Seal | None], Sequence[DomainEvent]],
) -> None:
    """``decide(secondment, seal)``: ``text`` sealed with the secondment's worker's key."""
    loaded = await commands.load(sec.stream_id(secondment_id), sec.evolve, field="secondment_id")
    assert loaded.state is not None
    worker_id = loaded.state.worker_id
    seal = await seal_for(commands.store.engine, keys, worker_id, text, field="secondment_id")
    await commands.change(cmd, loaded, lambda x: decide(x, seal))


async def extend(
    commands: CommandRunner, keys: KeyRing, cmd: Extension, *, secondment_id: uuid.UUID
) -> None:
    """A later last day (never an earlier one: cancel, or evaluate early)."""
    await _change(
        commands, keys, secondment_id, cmd, cmd.reason,
        lambda x, seal: sec.extend(x, ends_on=cmd.ends_on, reason=cmd.reason, seal=seal),
    )  # fmt: skip


async def evaluate(
    commands: CommandRunner, keys: KeyRing, cmd: Evaluation, *, secondment_id: uuid.UUID
) -> None:
    """The closing evaluation: a rating, whether each goal was met, a summary (by the caller,
    on a day from the secondment's first to today). It closes the secondment."""
    today = local_day(datetime.now(UTC))
    await _change(
        commands, keys, secondment_id, cmd, cmd.summary,
        lambda x, seal: sec.evaluate(
            x, evaluated_on=cmd.evaluated_on or today, rating=cmd.rating,
            goals_met=cmd.goals_met, summary=cmd.summary, by=commands.actor, today=today,
            seal=seal,
        ),
    )  # fmt: skip


async def cancel(
    commands: CommandRunner, keys: KeyRing, cmd: Reason, *, secondment_id: uuid.UUID
) -> None:
    """Call the secondment off (before its evaluation)."""
    await _change(
        commands, keys, secondment_id, cmd, cmd.reason,
        lambda x, seal: sec.cancel(x, reason=cmd.reason, seal=seal),
    )  # fmt: skip
