"""Commands on handbooks (网格记事簿, 全科网格一本通): publish the first edition or the next one,
and a worker's acknowledgement of the current edition."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from pydantic import BaseModel, Field

from wangge.events.command import CommandRunner
from wangge.governance.times import local_day
from wangge.training.bounds import MAX_EDITION, Day
from wangge.training.domain import handbooks as h
from wangge.training.handlers import start


class HandbookCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200, description="e.g. 全科网格一本通")
    published_on: Day | None = Field(default=None, description="today if none")
    sections: list[h.Section] = Field(min_length=1, max_length=200)


class EditionCreate(HandbookCreate):
    edition: int = Field(
        ge=1,
        le=MAX_EDITION,
        description="the edition to publish: the one after the current edition",
    )


class AcknowledgementCreate(BaseModel):
    worker_id: uuid.UUID
    edition: int | None = Field(
        default=None, ge=1, le=MAX_EDITION, description="the edition read (the current one if none)"
    )


def _today() -> date:
    return local_day(datetime.now(UTC))


async def publish(commands: CommandRunner, cmd: HandbookCreate) -> uuid.UUID:
    """Publish a new handbook: its first edition. Returns the handbook's id."""
    handbook_id = uuid.uuid4()
    events = h.publish(
        None, handbook_id=handbook_id, title=cmd.title, edition=1,
        published_on=cmd.published_on or _today(), sections=cmd.sections,
    )  # fmt: skip
    return await start(commands, cmd, h.stream_id(handbook_id), events)


async def publish_edition(
    commands: CommandRunner, cmd: EditionCreate, *, handbook_id: uuid.UUID
) -> None:
    """Publish the next edition, named: of two publishers who saw the same edition only one
    succeeds (the other's edition no longer follows the current one)."""
    loaded = await commands.load(h.stream_id(handbook_id), h.evolve, field="handbook_id")
    await commands.change(
        cmd, loaded,
        lambda x: h.publish(
            x, handbook_id=handbook_id, title=cmd.title, edition=cmd.edition,
            published_on=cmd.published_on or _today(), sections=cmd.sections,
        ),
    )  # fmt: skip


async def acknowledge(
    commands: CommandRunner, cmd: AcknowledgementCreate, *, handbook_id: uuid.UUID
) -> None:
    """A worker read an edition (the current one unless named); again changes nothing."""
    loaded = await commands.load(h.stream_id(handbook_id), h.evolve, field="handbook_id")
    assert loaded.state is not None
    edition = cmd.edition or loaded.state.edition
    await commands.change(
        cmd, loaded,
        lambda x: h.acknowledge(
            x, edition=edition, worker_id=cmd.worker_id, acknowledged_on=_today()
        ),
    )  # fmt: skip
