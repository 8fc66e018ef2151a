"""Secondments, handbooks and forums as rows: a secondment with its closing evaluation; each
handbook edition with its sections, and who acknowledged which edition (the current edition is
the highest, so whether a worker owes one is a query); each forum with the suggestions made
there and what became of them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance.times import utc
from wangge.training.domain import forums as f
from wangge.training.domain import handbooks as h
from wangge.training.domain import secondments as sec

UUID = sa.Uuid(as_uuid=True)
TIME = sa.DateTime(timezone=True)

ARRANGED, EVALUATED, CANCELLED = "arranged", "evaluated", "cancelled"
"""A secondment's status."""


class Development(Projection):
    """One row per secondment, handbook edition, acknowledgement, forum and suggestion."""

    name = "training_development"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

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

    @handles(sec.SecondmentExtended)
    async def on_extended(
        self, ctx: ApplyContext, event: RecordedEvent[sec.SecondmentExtended]
    ) -> None:
        d = event.data
        await self._secondment(ctx, event, ends_on=d.ends_on)

    @handles(sec.SecondmentEvaluated)
    async def on_evaluated(
        self, ctx: ApplyContext, event: RecordedEvent[sec.SecondmentEvaluated]
    ) -> None:
        d = event.data
        await self._secondment(
            ctx, event, status=EVALUATED, rating=d.rating, summary=d.summary,
            goals_met=list(d.goals_met), evaluated_on=d.evaluated_on, evaluated_by=d.by,
        )  # fmt: skip

    @handles(sec.SecondmentCancelled)
    async def on_secondment_cancelled(
        self, ctx: ApplyContext, event: RecordedEvent[sec.SecondmentCancelled]
    ) -> None:
        d = event.data
        await self._secondment(ctx, event, status=CANCELLED, cancelled_reason=d.reason)

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
