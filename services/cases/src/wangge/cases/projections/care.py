"""Care plans and their visits as rows: the inbox derives what is due from them."""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa

from wangge.cases.domain.care import (
    CarePlanDataErased,
    CarePlanEnded,
    CarePlanStarted,
    CareVisitRecorded,
)
from wangge.cases.domain.cases import ERASED
from wangge.cases.domain.erasure import ResidentDataErased
from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles

UUID = sa.Uuid(as_uuid=True)


class CarePlans(Projection):
    """One row per plan; one per visit (its measurements stay sealed in the log)."""

    name = "cases_care_plans"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        plans = sa.Table(
            f"care_plans{suffix}",
            metadata,
            sa.Column("plan_id", UUID, primary_key=True),
            sa.Column("resident", sa.String(100), nullable=False, index=True),
            sa.Column("resident_masked", sa.String(60), nullable=False),
            sa.Column("grid_id", UUID, nullable=False, index=True),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("every_days", sa.Integer, nullable=False),
            sa.Column("worker_account", sa.String(200), nullable=False, index=True),
            sa.Column("starts_on", sa.Date, nullable=False),
            sa.Column("ended_on", sa.Date),
            sa.Column("ended_reason", sa.String(500)),
            sa.Column("last_visit_on", sa.Date),
            sa.Column("visits", sa.Integer, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
        )
        visits = sa.Table(
            f"care_visits{suffix}",
            metadata,
            sa.Column("visit_id", UUID, primary_key=True),
            sa.Column("plan_id", UUID, nullable=False, index=True),
            sa.Column("visited_on", sa.Date, nullable=False),
            sa.Column("by", sa.String(200), nullable=False),
            sa.Column("note", sa.Text, nullable=False),
            sa.Column("measured", sa.Boolean, nullable=False),
        )
        return {"plans": plans, "visits": visits}

    @handles(CarePlanStarted)
    async def on_started(self, ctx: ApplyContext, event: RecordedEvent[CarePlanStarted]) -> None:
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["plans"]).values(
                plan_id=d.plan_id, resident=d.resident, resident_masked=d.resident_masked,
                grid_id=d.grid_id, kind=d.kind, every_days=d.every_days,
                worker_account=d.worker_account, starts_on=d.starts_on, visits=0,
                version=event.version,
            )
        )  # fmt: skip

    @handles(CareVisitRecorded)
    async def on_visit(self, ctx: ApplyContext, event: RecordedEvent[CareVisitRecorded]) -> None:
        d = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["visits"]).values(
                visit_id=d.visit_id, plan_id=d.plan_id, visited_on=d.visited_on, by=d.by,
                note=d.note, measured=d.measurements is not None,
            )
        )  # fmt: skip
        p = ctx.tables["plans"]
        last = sa.case(
            (sa.or_(p.c.last_visit_on.is_(None), p.c.last_visit_on < d.visited_on), d.visited_on),
            else_=p.c.last_visit_on,
        )
        await ctx.conn.execute(
            sa.update(p)
            .where(p.c.plan_id == d.plan_id)
            .values(last_visit_on=last, visits=p.c.visits + 1, version=event.version)
        )

    @handles(CarePlanEnded)
    async def on_ended(self, ctx: ApplyContext, event: RecordedEvent[CarePlanEnded]) -> None:
        d = event.data
        p = ctx.tables["plans"]
        await ctx.conn.execute(
            sa.update(p)
            .where(p.c.plan_id == d.plan_id)
            .values(ended_on=d.ended_on, ended_reason=d.reason, version=event.version)
        )

    @handles(CarePlanDataErased)
    async def on_erased(self, ctx: ApplyContext, event: RecordedEvent[CarePlanDataErased]) -> None:
        d = event.data
        p = ctx.tables["plans"]
        await ctx.conn.execute(
            sa.update(p).where(p.c.plan_id == d.plan_id).values(version=event.version)
        )

    @handles(ResidentDataErased)
    async def on_resident_erased(
        self, ctx: ApplyContext, event: RecordedEvent[ResidentDataErased]
    ) -> None:
        """The resident is shown as erased on each of their plans."""
        d = event.data
        p = ctx.tables["plans"]
        await ctx.conn.execute(
            sa.update(p).where(p.c.resident == str(d.person_id)).values(resident_masked=ERASED)
        )
