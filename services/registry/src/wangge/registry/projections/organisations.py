"""Organisations, things and inspections as rows: what lists, ledgers and roll-ups read.

The unified social credit code is a unique column, so a second organisation with a code already
registered fails the command's transaction (the handler turns that into a 409). Rows keep their
``place_id`` only: readers join the place tree for scope and address, so a re-gridded building
takes its organisations and things along.

A contact person is kept as the events carry them: masks, and the sealed block (opened by the
API for callers who may see it, with the contact's key, so an erased key leaves nothing to
open). A contact from an event written before sealing is kept in clear as that event has it,
in ``legacy_contact_*``, until their erasure, which empties those columns.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.registry.domain.organisations import (
    OrganisationClosed,
    OrganisationContactErased,
    OrganisationDetailsChanged,
    OrganisationMoved,
    OrganisationRegistered,
    compact_uscc,
    contact_state,
)
from wangge.registry.domain.things import (
    HazardResolved,
    ThingInspected,
    ThingRegistered,
    ThingRemoved,
    ThingStatus,
)
from wangge.registry.projections.places import in_places, with_place
from wangge.registry.projections.rows import narrowed, page_of, stamp

UUID = sa.Uuid(as_uuid=True)
WHEN = TIME_COLUMN


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
            sa.Column("contact_id", UUID),
            sa.Column("contact_name_masked", sa.String(100)),
            sa.Column("contact_phone_masked", sa.String(20)),
            sa.Column("contact_sealed", sa.Text, comment="ContactDetails, sealed (JSON)"),
            sa.Column("contact_erased", sa.Boolean, nullable=False, default=False),
            sa.Column("legacy_contact_name", sa.String(100), comment="from old events; erasable"),
            sa.Column("legacy_contact_phone", sa.String(20), comment="from old events; erasable"),
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
    async def on_organisation_registered(
        self, ctx: ApplyContext, event: RecordedEvent[OrganisationRegistered]
    ) -> None:
        data = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["organisations"]).values(
                organisation_id=data.organisation_id,
                uscc=data.uscc,
                name=data.name,
                kind=data.kind,
                place_id=data.place_id,
                address=data.address,
                contact_erased=False,
                **_contact(data),
                version=event.version,
                updated_at=event.envelope.time,
            )
        )

    @handles(OrganisationDetailsChanged)
    async def on_organisation_changed(
        self, ctx: ApplyContext, event: RecordedEvent[OrganisationDetailsChanged]
    ) -> None:
        data = event.data
        o = ctx.tables["organisations"]
        contact = _contact(data)
        # a contact restated as they were keeps their erasure; another one is not erased
        erased = sa.case((o.c.contact_id == contact["contact_id"], o.c.contact_erased), else_=False)
        await _touch_organisation(
            ctx, event, data.organisation_id, name=data.name, kind=data.kind,
            address=data.address, contact_erased=erased, **contact,
        )  # fmt: skip

    @handles(OrganisationContactErased)
    async def on_contact_erased(
        self, ctx: ApplyContext, event: RecordedEvent[OrganisationContactErased]
    ) -> None:
        data = event.data
        await _touch_organisation(ctx, event, data.organisation_id)
        o = ctx.tables["organisations"]
        await ctx.conn.execute(
            sa.update(o)
            .where(o.c.organisation_id == data.organisation_id, o.c.contact_id == data.contact_id)
            .values(contact_erased=True, legacy_contact_name=None, legacy_contact_phone=None)
        )

    @handles(OrganisationMoved)
    async def on_organisation_moved(
        self, ctx: ApplyContext, event: RecordedEvent[OrganisationMoved]
    ) -> None:
        data = event.data
        await _touch_organisation(ctx, event, data.organisation_id, place_id=data.place_id)

    @handles(OrganisationClosed)
    async def on_organisation_closed(
        self, ctx: ApplyContext, event: RecordedEvent[OrganisationClosed]
    ) -> None:
        data = event.data
        await _touch_organisation(ctx, event, data.organisation_id, closed_on=data.on)

    @handles(ThingRegistered)
    async def on_thing_registered(
        self, ctx: ApplyContext, event: RecordedEvent[ThingRegistered]
    ) -> None:
        data = event.data
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
    async def on_thing_inspected(
        self, ctx: ApplyContext, event: RecordedEvent[ThingInspected]
    ) -> None:
        data = event.data
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
    async def on_hazard_resolved(
        self, ctx: ApplyContext, event: RecordedEvent[HazardResolved]
    ) -> None:
        data = event.data
        await _touch_thing(ctx, event, data.thing_id, status=ThingStatus.RESOLVED.value)

    @handles(ThingRemoved)
    async def on_thing_removed(self, ctx: ApplyContext, event: RecordedEvent[ThingRemoved]) -> None:
        data = event.data
        await _touch_thing(ctx, event, data.thing_id, status=ThingStatus.REMOVED.value)


def _contact(data: OrganisationRegistered | OrganisationDetailsChanged) -> dict[str, Any]:
    state = contact_state(data, data.organisation_id)
    legacy = state["legacy_contact"]
    sealed = state["contact"]
    return {
        "contact_id": state["contact_id"],
        "contact_name_masked": state["contact_name_masked"],
        "contact_phone_masked": state["contact_phone_masked"],
        "contact_sealed": sealed.model_dump_json() if sealed is not None else None,
        "legacy_contact_name": legacy.name if legacy else None,
        "legacy_contact_phone": legacy.phone if legacy else None,
    }


async def _touch_organisation(
    ctx: ApplyContext, event: RecordedEvent, organisation_id: Any, **values: Any
) -> None:
    await stamp(ctx, event, "organisations", "organisation_id", organisation_id, **values)


async def _touch_thing(
    ctx: ApplyContext, event: RecordedEvent, thing_id: Any, **values: Any
) -> None:
    await stamp(ctx, event, "things", "thing_id", thing_id, **values)


# -- queries ---------------------------------------------------------------------------------------

Tables = Mapping[str, sa.Table]


def organisation_query(tables: Tables, places: Tables) -> sa.Select[Any]:
    """Organisations with the scope and address (``place_address``) of their place."""
    o = tables["organisations"]
    return with_place(o, o.c.place_id, places, "place_address")


async def organisation(
    conn: AsyncConnection, tables: Tables, places: Tables, organisation_id: uuid.UUID
) -> Any:
    """An organisation's row with its place's scope and address (None if there is none)."""
    o = tables["organisations"]
    query = organisation_query(tables, places).where(o.c.organisation_id == organisation_id)
    return (await conn.execute(query)).first()


async def organisations_page(
    conn: AsyncConnection,
    tables: Tables,
    places: Tables,
    *,
    within: Collection[str],
    kind: str | None = None,
    place_id: uuid.UUID | None = None,
    uscc: str | None = None,
    closed: bool | None = None,
    page: int,
    size: int,
) -> tuple[list[Any], int]:
    """A page of organisations inside ``within``, by kind, place, code or closing, and how
    many there are."""
    o = tables["organisations"]
    query = narrowed(
        organisation_query(tables, places).where(in_places(places["places"].c.scope, within)),
        (o.c.kind, kind),
        (o.c.place_id, place_id),
        (o.c.uscc, compact_uscc(uscc) if uscc is not None else None),
    )
    if closed is not None:
        query = query.where(o.c.closed_on.is_not(None) if closed else o.c.closed_on.is_(None))
    return await page_of(conn, query, o.c.name, o.c.organisation_id, page=page, size=size)


def thing_query(tables: Tables, places: Tables) -> sa.Select[Any]:
    """Things with the scope and address (``place_address``) of their place."""
    t = tables["things"]
    return with_place(t, t.c.place_id, places, "place_address")


async def thing(conn: AsyncConnection, tables: Tables, places: Tables, thing_id: uuid.UUID) -> Any:
    """A thing's row with its place's scope and address (None if there is none)."""
    query = thing_query(tables, places).where(tables["things"].c.thing_id == thing_id)
    return (await conn.execute(query)).first()


async def inspections(conn: AsyncConnection, tables: Tables, thing_id: uuid.UUID) -> list[Any]:
    """A thing's inspections, latest first."""
    i = tables["inspections"]
    rows = await conn.execute(
        sa.select(i).where(i.c.thing_id == thing_id).order_by(i.c.on.desc(), i.c.version.desc())
    )
    return list(rows)


async def things_page(
    conn: AsyncConnection,
    tables: Tables,
    places: Tables,
    *,
    within: Collection[str],
    kind: str | None = None,
    category: str | None = None,
    status: str | None = None,
    risk_level: str | None = None,
    place_id: uuid.UUID | None = None,
    responsible_organisation_id: uuid.UUID | None = None,
    page: int,
    size: int,
) -> tuple[list[Any], int]:
    """A page of things inside ``within``, filtered, and how many there are."""
    t, pl = tables["things"], places["places"]
    query = narrowed(
        thing_query(tables, places).where(in_places(pl.c.scope, within)),
        (t.c.kind, kind),
        (t.c.category, category),
        (t.c.status, status),
        (t.c.risk_level, risk_level),
        (t.c.place_id, place_id),
        (t.c.responsible_organisation_id, responsible_organisation_id),
    )
    order = (pl.c.address, t.c.name, t.c.thing_id)
    return await page_of(conn, query, *order, page=page, size=size)
