"""Secondments, handbooks and forums as rows: a secondment with its closing evaluation; each
handbook edition with its sections, and who acknowledged which edition (the current edition is
the highest, so whether a worker owes one is a query); each forum with the suggestions made
there and what became of them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent
from wangge.events.core import ServiceCore
from wangge.events.projection import ApplyContext, Projection, active_tables, handles
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.errors import NotFound
from wangge.governance.times import StoredTime, utc
from wangge.training.domain import forums as f
from wangge.training.domain import handbooks as h
from wangge.training.domain import secondments as sec

UUID = sa.Uuid(as_uuid=True)
TIME = TIME_COLUMN

ARRANGED, EVALUATED, CANCELLED = "arranged", "evaluated", "cancelled"
"""A secondment's status."""


_SECONDMENT_CHANGES: dict[type, Callable[[Any], dict[str, Any]]] = {
    sec.SecondmentExtended: lambda d: {"ends_on": d.ends_on},
    sec.SecondmentEvaluated: lambda d: {
        "status": EVALUATED, "rating": d.rating, "summary": d.summary,
        "goals_met": list(d.goals_met), "evaluated_on": d.evaluated_on, "evaluated_by": d.by,
    },
    sec.SecondmentCancelled: lambda d: {"status": CANCELLED, "cancelled_reason": d.reason},
}  # fmt: skip
"""What each change of a secondment sets in its row."""


class Development(Projection):
    """One row per secondment, handbook edition, acknowledgement, forum and suggestion."""

    name = "training_development"
    inline = True

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        secondments = sa.Table(
            f"training_secondments{suffix}",
            metadata,
            sa.Column("secondment_id", UUID, primary_key=True),
            sa.Column("worker_id", UUID, nullable=False, index=True),
            sa.Column("host_kind", sa.String(20), nullable=False),
            sa.Column("host", sa.String(200), nullable=False),
            sa.Column("starts_on", sa.Date, nullable=False, index=True),
            sa.Column("ends_on", sa.Date, nullable=False),
            sa.Column("mentor", sa.String(100), nullable=False),
            sa.Column("goals", sa.JSON, nullable=False),
            sa.Column("status", sa.String(10), nullable=False),  # arranged, evaluated, cancelled
            sa.Column("rating", sa.String(20)),
            sa.Column("summary", sa.Text),
            sa.Column("goals_met", sa.JSON),
            sa.Column("evaluated_on", sa.Date),
            sa.Column("evaluated_by", sa.String(100)),
            sa.Column("cancelled_reason", sa.String(500)),
            sa.Column("version", sa.Integer, nullable=False),
        )
        editions = sa.Table(
            f"training_handbook_editions{suffix}",
            metadata,
            sa.Column("handbook_id", UUID, primary_key=True),
            sa.Column("edition", sa.Integer, primary_key=True),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("published_on", sa.Date, nullable=False),
            sa.Column("sections", sa.JSON, nullable=False),
        )
        acknowledgements = sa.Table(
            f"training_handbook_acknowledgements{suffix}",
            metadata,
            sa.Column("handbook_id", UUID, primary_key=True),
            sa.Column("edition", sa.Integer, primary_key=True),
            sa.Column("worker_id", UUID, primary_key=True, index=True),
            sa.Column("acknowledged_on", sa.Date, nullable=False),
        )
        forums = sa.Table(
            f"training_forums{suffix}",
            metadata,
            sa.Column("forum_id", UUID, primary_key=True),
            sa.Column("topic", sa.String(200), nullable=False),
            sa.Column("held_at", TIME, nullable=False, index=True),
            sa.Column("place", sa.String(200), nullable=False),
            sa.Column("participants", sa.JSON, nullable=False),
            sa.Column("guests", sa.JSON, nullable=False),
            sa.Column("summary", sa.Text, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
        )
        suggestions = sa.Table(
            f"training_suggestions{suffix}",
            metadata,
            sa.Column("suggestion_id", UUID, primary_key=True),
            sa.Column("forum_id", UUID, nullable=False, index=True),
            sa.Column("recorded_version", sa.Integer, nullable=False),  # the forum's, in order
            sa.Column("by_worker", UUID),
            sa.Column("text", sa.Text, nullable=False),
            sa.Column("outcome", sa.String(10), index=True),  # None until followed up
            sa.Column("note", sa.Text, nullable=False),
            sa.Column("service_list_item", sa.String(200)),
            sa.Column("followed_up_on", sa.Date),
            sa.Column("followed_up_by", sa.String(100)),
        )
        return {
            "secondments": secondments, "editions": editions,
            "acknowledgements": acknowledgements, "forums": forums, "suggestions": suggestions,
        }  # fmt: skip

    # -- secondments ----------------------------------------------------------------------------

    @handles(sec.SecondmentArranged)
    async def on_arranged(
        self, ctx: ApplyContext, event: RecordedEvent[sec.SecondmentArranged]
    ) -> None:
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["secondments"]).values(
                secondment_id=d.secondment_id, worker_id=d.worker_id, host_kind=d.host_kind,
                host=d.host, starts_on=d.starts_on, ends_on=d.ends_on, mentor=d.mentor,
                goals=list(d.goals), status=ARRANGED, version=event.version,
            )
        )  # fmt: skip

    async def _secondment(self, ctx: ApplyContext, event: RecordedEvent, **values: Any) -> None:
        t = ctx.tables["secondments"]
        await ctx.conn.execute(
            sa.update(t)
            .where(t.c.secondment_id == event.data.secondment_id)  # type: ignore[attr-defined]
            .values(version=event.version, **values)
        )

    @handles(*_SECONDMENT_CHANGES)
    async def on_secondment_changed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._secondment(ctx, event, **_SECONDMENT_CHANGES[type(event.data)](event.data))

    # -- handbooks ------------------------------------------------------------------------------

    @handles(h.HandbookEditionPublished)
    async def on_edition(
        self, ctx: ApplyContext, event: RecordedEvent[h.HandbookEditionPublished]
    ) -> None:
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["editions"]).values(
                handbook_id=d.handbook_id, edition=d.edition, title=d.title,
                published_on=d.published_on,
                sections=[x.model_dump(mode="json") for x in d.sections],
            )
        )  # fmt: skip

    @handles(h.HandbookAcknowledged)
    async def on_acknowledged(
        self, ctx: ApplyContext, event: RecordedEvent[h.HandbookAcknowledged]
    ) -> None:
        d = event.data
        t = ctx.tables["acknowledgements"]
        key = (
            (t.c.handbook_id == d.handbook_id)
            & (t.c.edition == d.edition)
            & (t.c.worker_id == d.worker_id)
        )
        await ctx.conn.execute(sa.delete(t).where(key))
        await ctx.conn.execute(
            sa.insert(t).values(
                handbook_id=d.handbook_id, edition=d.edition, worker_id=d.worker_id,
                acknowledged_on=d.acknowledged_on,
            )
        )  # fmt: skip

    # -- forums ---------------------------------------------------------------------------------

    @handles(f.ForumHeld)
    async def on_forum(self, ctx: ApplyContext, event: RecordedEvent[f.ForumHeld]) -> None:
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["forums"]).values(
                forum_id=d.forum_id, topic=d.topic, held_at=utc(d.held_at), place=d.place,
                participants=[str(w) for w in d.participants], guests=list(d.guests),
                summary=d.summary, version=event.version,
            )
        )  # fmt: skip

    async def _forum(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        t = ctx.tables["forums"]
        await ctx.conn.execute(
            sa.update(t)
            .where(t.c.forum_id == event.data.forum_id)  # type: ignore[attr-defined]
            .values(version=event.version)
        )

    @handles(f.SuggestionRecorded)
    async def on_suggestion(
        self, ctx: ApplyContext, event: RecordedEvent[f.SuggestionRecorded]
    ) -> None:
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["suggestions"]).values(
                suggestion_id=d.suggestion_id, forum_id=d.forum_id,
                recorded_version=event.version, by_worker=d.by_worker, text=d.text, note="",
            )
        )  # fmt: skip
        await self._forum(ctx, event)

    @handles(f.SuggestionFollowedUp)
    async def on_followed_up(
        self, ctx: ApplyContext, event: RecordedEvent[f.SuggestionFollowedUp]
    ) -> None:
        d = event.data
        t = ctx.tables["suggestions"]
        await ctx.conn.execute(
            sa.update(t)
            .where(t.c.suggestion_id == d.suggestion_id)
            .values(
                outcome=d.outcome, note=d.note, service_list_item=d.service_list_item,
                followed_up_on=d.on, followed_up_by=d.by,
            )
        )  # fmt: skip
        await self._forum(ctx, event)


# -- queries ------------------------------------------------------------------------------------

Tables = Mapping[str, sa.Table]


async def development_tables(conn: AsyncConnection, core: ServiceCore) -> Tables:
    """The active generation's tables of the secondments, handbooks and forums read model."""
    return await active_tables(conn, core.projection(Development.name))


# -- secondments

Status = Literal["arranged", "evaluated", "cancelled"]


class SecondmentRead(BaseModel):
    secondment_id: uuid.UUID
    worker_id: uuid.UUID
    host_kind: sec.HostKind
    host: str
    starts_on: date
    ends_on: date
    days: int = Field(description="the period's days, both ends counted")
    mentor: str
    goals: list[str]
    status: Status = Field(description="evaluated and cancelled are closed")
    rating: sec.Rating | None
    summary: str | None
    goals_met: list[bool] | None
    evaluated_on: date | None
    evaluated_by: str | None
    cancelled_reason: str | None
    version: int


class SecondmentBrief(BaseModel):
    """A secondment as a worker's record shows it."""

    secondment_id: uuid.UUID
    host_kind: sec.HostKind
    host: str
    starts_on: date
    ends_on: date
    status: Status
    rating: sec.Rating | None


def _secondment_read(row: Any) -> SecondmentRead:
    return SecondmentRead(
        **{k: getattr(row, k) for k in SecondmentRead.model_fields if k != "days"},
        days=sec.period_days(row.starts_on, row.ends_on),
    )


async def secondment(
    conn: AsyncConnection, tables: Tables, secondment_id: uuid.UUID
) -> SecondmentRead:
    """A secondment (404 if none)."""
    t = tables["secondments"]
    row = (await conn.execute(sa.select(t).where(t.c.secondment_id == secondment_id))).first()
    if row is None:
        raise NotFound(f"no secondment {secondment_id}", field="secondment_id")
    return _secondment_read(row)


async def secondments_in_order(
    conn: AsyncConnection,
    tables: Tables,
    *,
    worker_id: uuid.UUID | None = None,
    status: Status | None = None,
) -> list[SecondmentRead]:
    """Secondments in the order they start, of one worker, in one status."""
    t = tables["secondments"]
    query = sa.select(t).order_by(t.c.starts_on, t.c.secondment_id)
    if worker_id is not None:
        query = query.where(t.c.worker_id == worker_id)
    if status is not None:
        query = query.where(t.c.status == status)
    return [_secondment_read(r) for r in await conn.execute(query)]


async def worker_secondments(
    conn: AsyncConnection, tables: Tables, worker_id: uuid.UUID
) -> list[SecondmentBrief]:
    """A worker's secondments, in the order they started (for their record)."""
    t = tables["secondments"]
    rows = await conn.execute(
        sa.select(t).where(t.c.worker_id == worker_id).order_by(t.c.starts_on, t.c.secondment_id)
    )
    return [SecondmentBrief.model_validate(r, from_attributes=True) for r in rows]


# -- handbooks


class EditionRead(BaseModel):
    edition: int
    title: str
    published_on: date


class HandbookRead(BaseModel):
    handbook_id: uuid.UUID
    title: str = Field(description="the current edition's")
    edition: int = Field(description="the current edition")
    published_on: date
    workers: int = Field(description="workers on the roster (not left)")
    acknowledged: int = Field(description="of them, those who acknowledged the current edition")


class HandbookDetail(HandbookRead):
    sections: list[h.Section] = Field(description="the current edition's")
    editions: list[EditionRead]


class Acknowledgement(BaseModel):
    handbook_id: uuid.UUID
    edition: int
    worker_id: uuid.UUID
    acknowledged_on: date


class HandbookStanding(BaseModel):
    """A handbook as a worker's record shows it."""

    handbook_id: uuid.UUID
    title: str
    current_edition: int
    acknowledged_edition: int | None = Field(description="the last edition they acknowledged")
    acknowledged_on: date | None
    owes: bool = Field(description="they have not acknowledged the current edition")


async def current_editions(
    conn: AsyncConnection, tables: Tables, handbook_id: uuid.UUID | None = None
) -> list[Any]:
    """Each handbook's current edition (its highest), by title."""
    e = tables["editions"]
    latest = sa.select(e.c.handbook_id, sa.func.max(e.c.edition).label("edition")).group_by(
        e.c.handbook_id
    )
    if handbook_id is not None:
        latest = latest.where(e.c.handbook_id == handbook_id)
    current = latest.subquery()
    same = (e.c.handbook_id == current.c.handbook_id) & (e.c.edition == current.c.edition)
    query = sa.select(e).join(current, same).order_by(e.c.title, e.c.handbook_id)
    return list((await conn.execute(query)).all())


async def current_edition(conn: AsyncConnection, tables: Tables, handbook_id: uuid.UUID) -> Any:
    """A handbook's current edition (404 if no such handbook)."""
    current = await current_editions(conn, tables, handbook_id)
    if not current:
        raise NotFound(f"no handbook {handbook_id}", field="handbook_id")
    return current[0]


async def acknowledged_current(
    conn: AsyncConnection, tables: Tables, current: list[Any]
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Per handbook (of its ``current`` editions), the workers who acknowledged that edition."""
    a = tables["acknowledgements"]
    out: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for row in current:
        workers = await conn.scalars(
            sa.select(a.c.worker_id).where(
                a.c.handbook_id == row.handbook_id, a.c.edition == row.edition
            )
        )
        out[row.handbook_id] = set(workers)
    return out


def handbook_read(row: Any, serving: set[uuid.UUID], acknowledged: set[uuid.UUID]) -> HandbookRead:
    """A handbook at its current edition ``row``, counted among the workers ``serving``."""
    return HandbookRead(
        handbook_id=row.handbook_id, title=row.title, edition=row.edition,
        published_on=row.published_on, workers=len(serving),
        acknowledged=len(serving & acknowledged),
    )  # fmt: skip


async def handbooks_by_title(
    conn: AsyncConnection, tables: Tables, serving: set[uuid.UUID]
) -> list[HandbookRead]:
    """Every handbook at its current edition, counted among the workers ``serving``."""
    current = await current_editions(conn, tables)
    acknowledged = await acknowledged_current(conn, tables, current)
    return [handbook_read(r, serving, acknowledged[r.handbook_id]) for r in current]


async def handbook_detail(
    conn: AsyncConnection, tables: Tables, handbook_id: uuid.UUID, serving: set[uuid.UUID]
) -> HandbookDetail:
    """A handbook: its current edition's sections and every edition (404 if none)."""
    row = await current_edition(conn, tables, handbook_id)
    e = tables["editions"]
    editions = (
        await conn.execute(
            sa.select(e.c.edition, e.c.title, e.c.published_on)
            .where(e.c.handbook_id == handbook_id)
            .order_by(e.c.edition)
        )
    ).all()
    acknowledged = (await acknowledged_current(conn, tables, [row]))[handbook_id]
    return HandbookDetail(
        **handbook_read(row, serving, acknowledged).model_dump(),
        sections=[h.Section.model_validate(x) for x in row.sections],
        editions=[EditionRead.model_validate(x, from_attributes=True) for x in editions],
    )


async def last_acknowledgement(
    conn: AsyncConnection, tables: Tables, handbook_id: uuid.UUID, worker_id: uuid.UUID
) -> Acknowledgement:
    """A worker's newest acknowledgement of a handbook."""
    a = tables["acknowledgements"]
    row = (
        await conn.execute(
            sa.select(a)
            .where(a.c.handbook_id == handbook_id, a.c.worker_id == worker_id)
            .order_by(a.c.edition.desc())
            .limit(1)
        )
    ).one()
    return Acknowledgement.model_validate(row, from_attributes=True)


async def last_acknowledged(
    conn: AsyncConnection, tables: Tables, handbook_id: uuid.UUID
) -> dict[uuid.UUID, int]:
    """Per worker, the last edition of a handbook they acknowledged."""
    a = tables["acknowledgements"]
    rows = await conn.execute(
        sa.select(a.c.worker_id, sa.func.max(a.c.edition).label("edition"))
        .where(a.c.handbook_id == handbook_id)
        .group_by(a.c.worker_id)
    )
    return {r.worker_id: r.edition for r in rows}


async def worker_handbooks(
    conn: AsyncConnection, tables: Tables, worker_id: uuid.UUID
) -> list[HandbookStanding]:
    """Per handbook: its current edition, the last one the worker acknowledged, whether they
    owe the current one (for their record)."""
    a = tables["acknowledgements"]
    theirs: dict[uuid.UUID, dict[int, date]] = defaultdict(dict)
    rows = await conn.execute(
        sa.select(a.c.handbook_id, a.c.edition, a.c.acknowledged_on).where(
            a.c.worker_id == worker_id
        )
    )
    for r in rows:
        theirs[r.handbook_id][r.edition] = r.acknowledged_on
    out = []
    for row in await current_editions(conn, tables):
        acks = theirs.get(row.handbook_id, {})
        last = max(acks, default=None)
        out.append(
            HandbookStanding(
                handbook_id=row.handbook_id, title=row.title, current_edition=row.edition,
                acknowledged_edition=last, acknowledged_on=acks.get(last) if last else None,
                owes=h.owes(row.edition, set(acks)),
            )
        )  # fmt: skip
    return out


# -- forums


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


async def _suggestion_counts(
    conn: AsyncConnection, tables: Tables, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    s = tables["suggestions"]
    rows = await conn.execute(
        sa.select(s.c.forum_id, sa.func.count(), sa.func.count(s.c.outcome))
        .where(s.c.forum_id.in_(ids))
        .group_by(s.c.forum_id)
    )
    return {forum_id: (made, made - done) for forum_id, made, done in rows}


def _forum_read(row: Any, counts: tuple[int, int]) -> ForumRead:
    return ForumRead(
        **{k: getattr(row, k) for k in ForumRead.model_fields if not k.startswith("suggestions")},
        suggestions_made=counts[0],
        suggestions_open=counts[1],
    )


async def forum_detail(conn: AsyncConnection, tables: Tables, forum_id: uuid.UUID) -> ForumDetail:
    """A forum with its suggestions, as recorded (404 if none)."""
    t, s = tables["forums"], tables["suggestions"]
    row = (await conn.execute(sa.select(t).where(t.c.forum_id == forum_id))).first()
    if row is None:
        raise NotFound(f"no forum {forum_id}", field="forum_id")
    suggestions = (
        await conn.execute(
            sa.select(s).where(s.c.forum_id == forum_id).order_by(s.c.recorded_version)
        )
    ).all()
    counts = (await _suggestion_counts(conn, tables, [forum_id])).get(forum_id, (0, 0))
    return ForumDetail(
        **_forum_read(row, counts).model_dump(),
        suggestions=[SuggestionRead.model_validate(x, from_attributes=True) for x in suggestions],
    )


async def forums_in_order(
    conn: AsyncConnection,
    tables: Tables,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
) -> list[ForumRead]:
    """Forums in the order they were held, in ``[since, until)``."""
    t = tables["forums"]
    query = sa.select(t).order_by(t.c.held_at, t.c.forum_id).limit(limit)
    if since is not None:
        query = query.where(t.c.held_at >= utc(since))
    if until is not None:
        query = query.where(t.c.held_at < utc(until))
    rows = (await conn.execute(query)).all()
    counts = await _suggestion_counts(conn, tables, [r.forum_id for r in rows])
    return [_forum_read(r, counts.get(r.forum_id, (0, 0))) for r in rows]


async def suggestions_across(
    conn: AsyncConnection,
    tables: Tables,
    *,
    outcome: f.Outcome | None = None,
    open_only: bool = False,
    limit: int,
) -> list[ForumSuggestion]:
    """Suggestions across forums, in the order of their forums and then as recorded."""
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
    return [ForumSuggestion.model_validate(r, from_attributes=True) for r in rows]


async def suggestion(
    conn: AsyncConnection,
    tables: Tables,
    forum_id: uuid.UUID,
    *,
    suggestion_id: uuid.UUID | None = None,
    recorded_version: int | None = None,
) -> SuggestionRead:
    """A forum's suggestion, by its id or by the forum's version that recorded it (404)."""
    s = tables["suggestions"]
    query = sa.select(s).where(s.c.forum_id == forum_id)
    if suggestion_id is not None:
        query = query.where(s.c.suggestion_id == suggestion_id)
    if recorded_version is not None:
        query = query.where(s.c.recorded_version == recorded_version)
    row = (await conn.execute(query)).first()
    if row is None:
        raise NotFound("no such suggestion", field="suggestion_id")
    return SuggestionRead.model_validate(row, from_attributes=True)
