"""Organisations, things and inspections as rows: what lists, ledgers and roll-ups read.

The unified social credit code is a unique column, so a second organisation with a code already
registered fails the command's transaction (the handler turns that into a 409). Rows keep their
``place_id`` only: readers join the place tree for scope and address, so a re-gridded building
takes its organisations and things along. Contact phones are kept masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.registry.domain.identity import mask_phone
from wangge.registry.domain.organisations import (
    OrganisationClosed,
    OrganisationDetailsChanged,
    OrganisationMoved,
    OrganisationRegistered,
)
from wangge.registry.domain.things import (
    HazardResolved,
    ThingInspected,
    ThingRegistered,
    ThingRemoved,
    ThingStatus,
)

UUID = sa.Uuid(as_uuid=True)
WHEN = sa.DateTime(timezone=True)


class OrganisationsAndThings(Projection):
    """Organisations; key facilities and hazard points; their inspections."""

    name = "registry_organisations"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        organisations = sa.Table(
            f"registry_organisations{suffix}",
            metadata,
            sa.Column("organisation_id", UUID, primary_key=True),
            sa.Column("uscc", sa.String(18), nullable=False, unique=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("kind", sa.String(30), nullable=False),
            sa.Column("place_id", UUID, nullable=False, index=True),
            sa.Column("address", sa.String(400)),
            sa.Column("contact_name", sa.String(100)),
            sa.Column("contact_phone_masked", sa.String(20)),
            sa.Column("closed_on", sa.Date),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("updated_at", WHEN, nullable=False),
        )
        things = sa.Table(
            f"registry_things{suffix}",
            metadata,
            sa.Column("thing_id", UUID, primary_key=True),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("category", sa.String(100), nullable=False, index=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("description", sa.String(2000)),
            sa.Column("place_id", UUID, nullable=False, index=True),
            sa.Column("responsible_organisation_id", UUID, index=True),
            sa.Column("risk_level", sa.String(10)),
            sa.Column("status", sa.String(10), nullable=False, index=True),
            sa.Column("last_inspected_on", sa.Date),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("updated_at", WHEN, nullable=False),
        )
        inspections = sa.Table(
            f"registry_thing_inspections{suffix}",
            metadata,
            sa.Column("thing_id", UUID, primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True, comment="in the thing's stream"),
            sa.Column("on", sa.Date, nullable=False),
            sa.Column("finding", sa.String(2000), nullable=False),
            sa.Column("risk_level", sa.String(10)),
            sa.Column("recorded_at", WHEN, nullable=False),
        )
        return {"organisations": organisations, "things": things, "inspections": inspections}

    @handles(OrganisationRegistered)
    async def on_organisation_registered(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, OrganisationRegistered)
        await ctx.conn.execute(
            sa.insert(ctx.tables["organisations"]).values(
                organisation_id=data.organisation_id,
                uscc=data.uscc,
                name=data.name,
                kind=data.kind,
                place_id=data.place_id,
                address=data.address,
                contact_name=data.contact_name,
                contact_phone_masked=_masked(data.contact_phone),
                version=event.version,
                updated_at=event.envelope.time,
            )
        )

    @handles(OrganisationDetailsChanged)
    async def on_organisation_changed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, OrganisationDetailsChanged)
        await _touch_organisation(
            ctx, event, data.organisation_id, name=data.name, kind=data.kind,
            address=data.address, contact_name=data.contact_name,
            contact_phone_masked=_masked(data.contact_phone),
        )  # fmt: skip

    @handles(OrganisationMoved)
    async def on_organisation_moved(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, OrganisationMoved)
        await _touch_organisation(ctx, event, data.organisation_id, place_id=data.place_id)

    @handles(OrganisationClosed)
    async def on_organisation_closed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, OrganisationClosed)
        await _touch_organisation(ctx, event, data.organisation_id, closed_on=data.on)

    @handles(ThingRegistered)
    async def on_thing_registered(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, ThingRegistered)
        await ctx.conn.execute(
            sa.insert(ctx.tables["things"]).values(
                thing_id=data.thing_id,
                kind=data.kind,
                category=data.category,
                name=data.name,
                description=data.description,
                place_id=data.place_id,
                responsible_organisation_id=data.responsible_organisation_id,
                risk_level=data.risk_level,
                status=ThingStatus.OPEN.value,
                version=event.version,
                updated_at=event.envelope.time,
            )
        )

    @handles(ThingInspected)
    async def on_thing_inspected(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, ThingInspected)
        things = ctx.tables["things"]
        await ctx.conn.execute(
            sa.insert(ctx.tables["inspections"]).values(
                thing_id=data.thing_id,
                version=event.version,
                on=data.on,
                finding=data.finding,
                risk_level=data.risk_level,
                recorded_at=event.envelope.time,
            )
        )
        last = sa.case(
            (things.c.last_inspected_on.is_(None), data.on),
            (things.c.last_inspected_on < data.on, data.on),
            else_=things.c.last_inspected_on,
        )
        values: dict[str, Any] = {"last_inspected_on": last}
        if data.risk_level is not None:
            values["risk_level"] = data.risk_level
        await _touch_thing(ctx, event, data.thing_id, **values)

    @handles(HazardResolved)
    async def on_hazard_resolved(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, HazardResolved)
        await _touch_thing(ctx, event, data.thing_id, status=ThingStatus.RESOLVED.value)

    @handles(ThingRemoved)
    async def on_thing_removed(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        data = event.data
        assert isinstance(data, ThingRemoved)
        await _touch_thing(ctx, event, data.thing_id, status=ThingStatus.REMOVED.value)


def _masked(phone: str | None) -> str | None:
    return mask_phone(phone) if phone else None


async def _touch_organisation(
    ctx: ApplyContext, event: RecordedEvent, organisation_id: Any, **values: Any
) -> None:
    organisations = ctx.tables["organisations"]
    await ctx.conn.execute(
        sa.update(organisations)
        .where(organisations.c.organisation_id == organisation_id)
        .values(version=event.version, updated_at=event.envelope.time, **values)
    )


async def _touch_thing(
    ctx: ApplyContext, event: RecordedEvent, thing_id: Any, **values: Any
) -> None:
    things = ctx.tables["things"]
    await ctx.conn.execute(
        sa.update(things)
        .where(things.c.thing_id == thing_id)
        .values(version=event.version, updated_at=event.envelope.time, **values)
    )
