"""Persons, their tags and residences, households and their members, as rows for queries.

The only plaintext personal datum kept here is the name, so staff can search by it inside their
places; it is unsealed from the event with the person's key and blanked when that key is erased.
Identity numbers and phones stay masked. Residences and memberships are intervals of valid time
(``valid_from`` to ``valid_to``) stamped with when the register learnt of each end
(``recorded_from``, ``recorded_to``), which is what "as of" queries read.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from wangge.events import RecordedEvent, default_catalogue
from wangge.events.db import insert_many
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.sealing import Sealed
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.registry.domain.households import (
    HouseholdHeadChanged,
    HouseholdMemberJoined,
    HouseholdMemberLeft,
    HouseholdRegistered,
)
from wangge.registry.domain.persons import (
    DuplicateDismissed,
    PersonalDataErased,
    PersonDetailsCorrected,
    PersonDwellingRelated,
    PersonDwellingRelationEnded,
    PersonMerged,
    PersonMergeUndone,
    PersonMovedIn,
    PersonMovedOut,
    PersonRegistered,
    PersonResidenceStatusChanged,
    PersonTagged,
    PersonUntagged,
)
from wangge.registry.personal_data import KeyRing
from wangge.registry.projections.rows import stamp

UUID = sa.Uuid(as_uuid=True)
OPEN_MEMBERSHIP = "uq_registry_open_membership"
"""The unique index of open memberships (its name tells a refused join from other errors)."""
WHEN = TIME_COLUMN


class People(Projection):
    """Persons, tags, residences, dwelling ties, households and memberships."""

    name = "registry_people"
    inline = True

    def __init__(self, keyring: KeyRing) -> None:
        super().__init__(default_catalogue)
        self.keyring = keyring

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        persons = sa.Table(
            f"registry_persons{suffix}",
            metadata,
            sa.Column("person_id", UUID, primary_key=True),
            sa.Column("name", sa.String(100), index=True, comment="NULL once erased"),
            sa.Column("name_masked", sa.String(100), nullable=False),
            sa.Column("identity_masked", sa.String(20), nullable=False),
            sa.Column("phone_masked", sa.String(20)),
            sa.Column("sex", sa.String(10), nullable=False),
            sa.Column("birth_year", sa.Integer, nullable=False),
            sa.Column("hukou_type", sa.String(20), nullable=False),
            sa.Column("residence_status", sa.String(20), nullable=False),
            sa.Column("dwelling_id", UUID, index=True, comment="current, or the last one"),
            sa.Column("household_id", UUID, index=True),
            sa.Column("merged_into", UUID),
            sa.Column("erased", sa.Boolean, nullable=False, default=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("registered_at", WHEN, nullable=False),
            sa.Column("updated_at", WHEN, nullable=False),
        )
        tags = sa.Table(
            f"registry_person_tags{suffix}",
            metadata,
            sa.Column("person_id", UUID, primary_key=True),
            # a row per period, keyed by the event that began it: a tag ended and given again,
            # even from the same day, is a new period (keyed by its start, the two collided)
            sa.Column("tagged_version", sa.Integer, primary_key=True, comment="of the person"),
            sa.Column("tag", sa.String(40), nullable=False),
            sa.Column("valid_from", sa.Date, nullable=False),
            sa.Column("valid_until", sa.Date),
            sa.Column("ended_on", sa.Date),
            sa.Column("source", sa.String(200), nullable=False),
            sa.Column("set_by", sa.String(200)),
            sa.Index(f"ix_registry_person_tags_tag{suffix}", "tag"),
        )
        residences = sa.Table(
            f"registry_residences{suffix}",
            metadata,
            sa.Column("residence_id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("person_id", UUID, nullable=False, index=True),
            sa.Column("dwelling_id", UUID, nullable=False, index=True),
            sa.Column("valid_from", sa.Date, nullable=False),
            sa.Column("valid_to", sa.Date),
            sa.Column("recorded_from", WHEN, nullable=False),
            sa.Column("recorded_to", WHEN),
        )
        ties = sa.Table(
            f"registry_dwelling_ties{suffix}",
            metadata,
            sa.Column("person_id", UUID, primary_key=True),
            sa.Column("dwelling_id", UUID, primary_key=True),
            sa.Column("relation", sa.String(20), primary_key=True),
            sa.Column("since", sa.Date, nullable=False),
        )
        households = sa.Table(
            f"registry_households{suffix}",
            metadata,
            sa.Column("household_id", UUID, primary_key=True),
            sa.Column("number", sa.String(40), nullable=False, unique=True),
            sa.Column("type", sa.String(20), nullable=False),
            sa.Column("dwelling_id", UUID, nullable=False, index=True),
            sa.Column("head_person_id", UUID, nullable=False),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("registered_at", WHEN, nullable=False),
        )
        memberships = sa.Table(
            f"registry_memberships{suffix}",
            metadata,
            sa.Column("membership_id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("household_id", UUID, nullable=False, index=True),
            sa.Column("person_id", UUID, nullable=False, index=True),
            sa.Column("relationship", sa.String(30), nullable=False),
            sa.Column("valid_from", sa.Date, nullable=False),
            sa.Column("valid_to", sa.Date),
            sa.Column("recorded_from", WHEN, nullable=False),
            sa.Column("recorded_to", WHEN),
        )
        # one household at a time: the database refuses a second open membership, so two
        # concurrent joins of one person to two households cannot both commit
        open_membership = memberships.c.valid_to.is_(None)
        sa.Index(
            f"{OPEN_MEMBERSHIP}{suffix}",
            memberships.c.person_id,
            unique=True,
            postgresql_where=open_membership,
            sqlite_where=open_membership,
        )
        dismissed = sa.Table(
            f"registry_duplicates_dismissed{suffix}",
            metadata,
            sa.Column("person_id", UUID, primary_key=True, comment="the lower id of the pair"),
            sa.Column("other_person_id", UUID, primary_key=True),
        )
        return {
            "persons": persons,
            "tags": tags,
            "residences": residences,
            "ties": ties,
            "households": households,
            "memberships": memberships,
            "dismissed": dismissed,
        }

    # -- bulk: streams that start in this batch (census imports) -----------------------------------

    BULK = frozenset({
        PersonRegistered, PersonMovedIn, PersonMovedOut, PersonTagged,
        PersonResidenceStatusChanged, HouseholdRegistered, HouseholdMemberJoined,
    })  # fmt: skip

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        fresh = [e for e in events if e.stream_id in new_streams]
        if any(type(e.data) not in self.BULK for e in fresh):
            fresh = []
        if fresh:
            await self._bulk(ctx, fresh)
        for event in events:
            if not fresh or event.stream_id not in new_streams:
                await self.apply(ctx, event)

    async def _bulk(self, ctx: ApplyContext, events: Sequence[RecordedEvent]) -> None:
        """Fold brand-new streams into rows and insert each table's rows in one statement."""
        persons: dict[uuid.UUID, dict[str, Any]] = {}
        residences: list[dict[str, Any]] = []
        open_residence: dict[uuid.UUID, dict[str, Any]] = {}
        tags: list[dict[str, Any]] = []
        households: dict[uuid.UUID, dict[str, Any]] = {}
        memberships: list[dict[str, Any]] = []
        joined_elsewhere: list[dict[str, Any]] = []
        for event in events:
            data, when = event.data, event.envelope.time
            if isinstance(data, PersonRegistered):
                # the sealed block stands in for the name until the keys are read below
                persons[data.person_id] = _person_row(event, data, name=data.personal)
            elif isinstance(data, HouseholdRegistered):
                households[data.household_id] = _household_row(event, data)
            elif isinstance(data, HouseholdMemberJoined):
                memberships.append(_membership_row(event, data))
                if data.person_id in persons:
                    persons[data.person_id]["household_id"] = data.household_id
                else:
                    joined_elsewhere.append({"pid": data.person_id, "hid": data.household_id})
            elif isinstance(data, PersonMovedIn | PersonMovedOut):
                previous = open_residence.pop(data.person_id, None)
                if previous is not None:
                    previous.update(valid_to=data.on, recorded_to=when)
                if isinstance(data, PersonMovedIn):
                    row = _residence_row(event, data)
                    residences.append(row)
                    open_residence[data.person_id] = row
                    person = persons[data.person_id]
                    person["dwelling_id"] = data.dwelling_id
                    if person["residence_status"] == "moved_out":
                        person["residence_status"] = "resident"
                else:
                    persons[data.person_id]["residence_status"] = "moved_out"
            elif isinstance(data, PersonResidenceStatusChanged):
                persons[data.person_id]["residence_status"] = data.residence_status
                if data.residence_status == "deceased":
                    previous = open_residence.pop(data.person_id, None)
                    if previous is not None:
                        previous.update(valid_to=data.on, recorded_to=when)
            elif isinstance(data, PersonTagged):
                tags.append(_tag_row(event, data))
            # the fields by name (getattr of a field a model lacks takes pydantic's slow path)
            fields: dict[str, Any] = data.__dict__
            owner = persons.get(fields.get("person_id"))  # type: ignore[arg-type]
            if owner is not None and event.stream_id.startswith("person-"):
                owner.update(version=event.version, updated_at=when)
            house = households.get(fields.get("household_id"))  # type: ignore[arg-type]
            if house is not None and event.stream_id.startswith("household-"):
                house["version"] = event.version
        keys = await self.keyring.keys(ctx.conn, list(persons))
        for pid, person in persons.items():
            key = keys.get(pid)
            person["name"] = self.keyring.unseal(key, person["name"])["name"] if key else None
        t = ctx.tables
        for table, rows in (
            ("persons", list(persons.values())), ("residences", residences), ("tags", tags),
            ("households", list(households.values())), ("memberships", memberships),
        ):  # fmt: skip
            await insert_many(ctx.conn, t[table], rows)
        if joined_elsewhere:
            p = t["persons"]
            await ctx.conn.execute(
                sa.update(p)
                .where(p.c.person_id == sa.bindparam("pid"))
                .values(household_id=sa.bindparam("hid")),
                joined_elsewhere,
            )

    # -- persons ---------------------------------------------------------------------------------

    async def _name(self, ctx: ApplyContext, person_id: uuid.UUID, sealed: Sealed) -> str | None:
        key = await self.keyring.key(ctx.conn, person_id)
        if key is None:
            return None  # erased before this projection got here (a rebuild)
        name: str = self.keyring.unseal(key, sealed)["name"]
        return name

    @handles(PersonRegistered)
    async def on_registered(
        self, ctx: ApplyContext, event: RecordedEvent[PersonRegistered]
    ) -> None:
        data = event.data
        # streams interleave freely in the log: the household may have taken them in first
        m = ctx.tables["memberships"]
        household_id = await ctx.conn.scalar(
            sa.select(m.c.household_id)
            .where(m.c.person_id == data.person_id, m.c.valid_to.is_(None))
            .limit(1)
        )
        name = await self._name(ctx, data.person_id, data.personal)
        row = _person_row(event, data, name=name, household_id=household_id)
        await ctx.conn.execute(sa.insert(ctx.tables["persons"]).values(**row))

    @handles(PersonDetailsCorrected)
    async def on_corrected(
        self, ctx: ApplyContext, event: RecordedEvent[PersonDetailsCorrected]
    ) -> None:
        data = event.data
        await self._person(
            ctx,
            event,
            name=await self._name(ctx, data.person_id, data.personal),
            name_masked=data.name_masked,
            identity_masked=data.identity_masked,
            phone_masked=data.phone_masked,
            sex=data.sex,
            birth_year=data.birth_year,
            hukou_type=data.hukou_type,
        )

    @handles(PersonResidenceStatusChanged)
    async def on_status(
        self, ctx: ApplyContext, event: RecordedEvent[PersonResidenceStatusChanged]
    ) -> None:
        data = event.data
        await self._person(ctx, event, residence_status=data.residence_status)
        if data.residence_status == "deceased":
            await _close(ctx, "residences", data.person_id, data.on, event.envelope.time)

    @handles(PersonMovedIn)
    async def on_moved_in(self, ctx: ApplyContext, event: RecordedEvent[PersonMovedIn]) -> None:
        data = event.data
        persons = ctx.tables["persons"]
        status = await ctx.conn.scalar(
            sa.select(persons.c.residence_status).where(persons.c.person_id == data.person_id)
        )
        await _close(ctx, "residences", data.person_id, data.on, event.envelope.time)
        await ctx.conn.execute(
            sa.insert(ctx.tables["residences"]).values(**_residence_row(event, data))
        )
        values: dict[str, Any] = {"dwelling_id": data.dwelling_id}
        if status == "moved_out":
            values["residence_status"] = "resident"
        await self._person(ctx, event, **values)

    @handles(PersonMovedOut)
    async def on_moved_out(self, ctx: ApplyContext, event: RecordedEvent[PersonMovedOut]) -> None:
        data = event.data
        await _close(ctx, "residences", data.person_id, data.on, event.envelope.time)
        # the last dwelling stays on the row: it is where the grid worker finds their record
        await self._person(ctx, event, residence_status="moved_out")

    @handles(PersonDwellingRelated)
    async def on_related(
        self, ctx: ApplyContext, event: RecordedEvent[PersonDwellingRelated]
    ) -> None:
        data = event.data
        await ctx.conn.execute(
            sa.insert(ctx.tables["ties"]).values(
                person_id=data.person_id,
                dwelling_id=data.dwelling_id,
                relation=data.relation,
                since=data.since,
            )
        )
        await self._person(ctx, event)

    @handles(PersonDwellingRelationEnded)
    async def on_unrelated(
        self, ctx: ApplyContext, event: RecordedEvent[PersonDwellingRelationEnded]
    ) -> None:
        data = event.data
        ties = ctx.tables["ties"]
        await ctx.conn.execute(
            sa.delete(ties).where(
                ties.c.person_id == data.person_id,
                ties.c.dwelling_id == data.dwelling_id,
                ties.c.relation == data.relation,
            )
        )
        await self._person(ctx, event)

    @handles(PersonTagged)
    async def on_tagged(self, ctx: ApplyContext, event: RecordedEvent[PersonTagged]) -> None:
        data = event.data
        await ctx.conn.execute(sa.insert(ctx.tables["tags"]).values(**_tag_row(event, data)))
        await self._person(ctx, event)

    @handles(PersonUntagged)
    async def on_untagged(self, ctx: ApplyContext, event: RecordedEvent[PersonUntagged]) -> None:
        data = event.data
        tags = ctx.tables["tags"]
        await ctx.conn.execute(
            sa.update(tags)
            .where(tags.c.person_id == data.person_id, tags.c.tag == data.tag)
            .where(tags.c.ended_on.is_(None))
            .values(ended_on=data.on)
        )
        await self._person(ctx, event)

    @handles(PersonMerged)
    async def on_merged(self, ctx: ApplyContext, event: RecordedEvent[PersonMerged]) -> None:
        data = event.data
        await self._person(ctx, event, merged_into=data.into_person_id)

    @handles(PersonMergeUndone)
    async def on_unmerged(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._person(ctx, event, merged_into=None)

    @handles(DuplicateDismissed)
    async def on_dismissed(
        self, ctx: ApplyContext, event: RecordedEvent[DuplicateDismissed]
    ) -> None:
        """The pair, in one order whichever record it was dismissed on (again: nothing)."""
        first, second = sorted((event.data.person_id, event.data.other_person_id), key=str)
        dismissed = ctx.tables["dismissed"]
        known = await ctx.conn.scalar(
            sa.select(sa.func.count()).where(
                dismissed.c.person_id == first, dismissed.c.other_person_id == second
            )
        )
        if not known:
            await ctx.conn.execute(
                sa.insert(dismissed).values(person_id=first, other_person_id=second)
            )
        await self._person(ctx, event)

    @handles(PersonalDataErased)
    async def on_erased(self, ctx: ApplyContext, event: RecordedEvent) -> None:
        await self._person(ctx, event, name=None, erased=True)

    async def _person(self, ctx: ApplyContext, event: RecordedEvent, **values: Any) -> None:
        person_id = event.data.person_id  # type: ignore[attr-defined]
        await stamp(ctx, event, "persons", "person_id", person_id, **values)

    # -- households ------------------------------------------------------------------------------

    @handles(HouseholdRegistered)
    async def on_household(
        self, ctx: ApplyContext, event: RecordedEvent[HouseholdRegistered]
    ) -> None:
        data = event.data
        row = _household_row(event, data)
        await ctx.conn.execute(sa.insert(ctx.tables["households"]).values(**row))

    @handles(HouseholdMemberJoined)
    async def on_joined(
        self, ctx: ApplyContext, event: RecordedEvent[HouseholdMemberJoined]
    ) -> None:
        data = event.data
        row = _membership_row(event, data)
        await ctx.conn.execute(sa.insert(ctx.tables["memberships"]).values(**row))
        persons = ctx.tables["persons"]
        await ctx.conn.execute(
            sa.update(persons)
            .where(persons.c.person_id == data.person_id)
            .values(household_id=data.household_id)
        )
        await self._household(ctx, event, data.household_id)

    @handles(HouseholdMemberLeft)
    async def on_left(self, ctx: ApplyContext, event: RecordedEvent[HouseholdMemberLeft]) -> None:
        data = event.data
        m = ctx.tables["memberships"]
        await ctx.conn.execute(
            sa.update(m)
            .where(m.c.household_id == data.household_id, m.c.person_id == data.person_id)
            .where(m.c.valid_to.is_(None))
            .values(valid_to=data.on, recorded_to=event.envelope.time)
        )
        persons = ctx.tables["persons"]
        await ctx.conn.execute(
            sa.update(persons)
            .where(persons.c.person_id == data.person_id)
            .where(persons.c.household_id == data.household_id)
            .values(household_id=None)
        )
        await self._household(ctx, event, data.household_id)

    @handles(HouseholdHeadChanged)
    async def on_head(self, ctx: ApplyContext, event: RecordedEvent[HouseholdHeadChanged]) -> None:
        data = event.data
        households = ctx.tables["households"]
        former = await ctx.conn.scalar(
            sa.select(households.c.head_person_id).where(
                households.c.household_id == data.household_id
            )
        )
        # a changed relationship is a new interval, so "as of" still shows the old one
        await self._restate(ctx, event, data.household_id, data.head_person_id, "head", data.on)
        if data.former_head_relationship is not None and former is not None:
            await self._restate(
                ctx, event, data.household_id, former, data.former_head_relationship, data.on
            )
        await ctx.conn.execute(
            sa.update(households)
            .where(households.c.household_id == data.household_id)
            .values(head_person_id=data.head_person_id)
        )
        await self._household(ctx, event, data.household_id)

    async def _restate(
        self,
        ctx: ApplyContext,
        event: RecordedEvent,
        household_id: uuid.UUID,
        person_id: uuid.UUID,
        relationship: str,
        on: date,
    ) -> None:
        m = ctx.tables["memberships"]
        await ctx.conn.execute(
            sa.update(m)
            .where(m.c.household_id == household_id, m.c.person_id == person_id)
            .where(m.c.valid_to.is_(None))
            .values(valid_to=on, recorded_to=event.envelope.time)
        )
        await ctx.conn.execute(
            sa.insert(m).values(
                household_id=household_id,
                person_id=person_id,
                relationship=relationship,
                valid_from=on,
                recorded_from=event.envelope.time,
            )
        )

    async def _household(
        self, ctx: ApplyContext, event: RecordedEvent, household_id: uuid.UUID
    ) -> None:
        await stamp(ctx, event, "households", "household_id", household_id)


# -- rows, shared by the event-by-event handlers and the bulk fold ---------------------------------


def _person_row(
    event: RecordedEvent, data: PersonRegistered, *, name: Any, household_id: Any = None
) -> dict[str, Any]:
    return {
        "person_id": data.person_id, "name": name, "name_masked": data.name_masked,
        "identity_masked": data.identity_masked, "phone_masked": data.phone_masked,
        "sex": data.sex, "birth_year": data.birth_year, "hukou_type": data.hukou_type,
        "residence_status": data.residence_status, "dwelling_id": None,
        "household_id": household_id, "merged_into": None, "erased": False,
        "version": event.version, "registered_at": event.envelope.time,
        "updated_at": event.envelope.time,
    }  # fmt: skip


def _residence_row(event: RecordedEvent, data: PersonMovedIn) -> dict[str, Any]:
    return {
        "person_id": data.person_id, "dwelling_id": data.dwelling_id, "valid_from": data.on,
        "valid_to": None, "recorded_from": event.envelope.time, "recorded_to": None,
    }  # fmt: skip


def _tag_row(event: RecordedEvent, data: PersonTagged) -> dict[str, Any]:
    return {
        "person_id": data.person_id, "tagged_version": event.version, "tag": data.tag,
        "valid_from": data.valid_from, "valid_until": data.valid_until, "ended_on": None,
        "source": data.source, "set_by": event.envelope.actor,
    }  # fmt: skip


def _household_row(event: RecordedEvent, data: HouseholdRegistered) -> dict[str, Any]:
    return {
        "household_id": data.household_id, "number": data.number, "type": data.type,
        "dwelling_id": data.dwelling_id, "head_person_id": data.head_person_id,
        "version": event.version, "registered_at": event.envelope.time,
    }  # fmt: skip


def _membership_row(event: RecordedEvent, data: HouseholdMemberJoined) -> dict[str, Any]:
    return {
        "household_id": data.household_id, "person_id": data.person_id,
        "relationship": data.relationship, "valid_from": data.on, "valid_to": None,
        "recorded_from": event.envelope.time, "recorded_to": None,
    }  # fmt: skip


async def _close(
    ctx: ApplyContext, table: str, person_id: uuid.UUID, on: date, when: datetime
) -> None:
    t = ctx.tables[table]
    await ctx.conn.execute(
        sa.update(t)
        .where(t.c.person_id == person_id, t.c.valid_to.is_(None))
        .values(valid_to=on, recorded_to=when)
    )
