"""Resident and household 360 (居民/家庭 360): the facts of the registry, the cases service and
the hotline bridge that a person's or a household's picture is drawn from.

The rows are facts with their dates, never folded state (``wangge.views.domain.residents``
folds them for the day asked), and nothing joins across services while applying: a case names
its residents by pseudonymous id, a ticket its routed dwelling, a care plan its resident, and
the queries (``residents_queries``) join them when asked. So the rows do not depend on which
topic's events arrived first, an erasure counts whether it came before or after the person's
other events, and a rebuild leaves what applying batch by batch left (keys are the producers'
ids and stream versions, times the events' own).

A batch is applied in memory and each table written at once (``projections.batching``): nearly
every event adds rows; the few that change one (a correction, a merge, an untagging, a plan's
end, an agreement's follow-up) change it in memory when the batch added it, else with SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import sqlalchemy as sa

from wangge.events import RecordedEvent
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.rows import update_row
from wangge.events.tuning import UNHURRIED_LINGER_SECONDS
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.times import utc
from wangge.views.consumed import cases as c
from wangge.views.consumed import hotline as h
from wangge.views.consumed import registry as r
from wangge.views.domain.residents import HouseholdFact, PersonFact
from wangge.views.projections.batching import (
    add_row,
    apply_batched,
    batching,
    held,
    replace_row,
)

UUID = sa.Uuid(as_uuid=True)
TIME = TIME_COLUMN
PERSON, PARTY = "person", "party"
"""What an erasure row erased: a person (registry or cases service), a mediation party."""


def _table(metadata: sa.MetaData, name: str, suffix: str, *columns: Any) -> sa.Table:
    return sa.Table(f"views_residents_{name}{suffix}", metadata, *columns)


class Residents(Projection):
    """Persons, their facts and tags; households and their facts; visits, needs; cases with their
    steps, parties, sessions and agreements; care plans and visits; tickets and their steps;
    erasures."""

    name = "views_residents"
    sources_apart: ClassVar[bool] = True  # each service's events, its own tables
    reads: ClassVar[tuple[str, ...]] = ("registry", "cases", "hotline_bridge")
    linger_seconds: ClassVar[float | None] = UNHURRIED_LINGER_SECONDS

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        t = {}
        t["persons"] = _table(
            metadata, "persons", suffix,
            sa.Column("person_id", UUID, primary_key=True),
            sa.Column("sex", sa.String(10), nullable=False),
            sa.Column("birth_year", sa.Integer, nullable=False),
            sa.Column("hukou_type", sa.String(20), nullable=False),
            sa.Column("name_masked", sa.String(100), nullable=False),
            sa.Column("identity_masked", sa.String(40), nullable=False),
            sa.Column("phone_masked", sa.String(40)),
            sa.Column("registered_at", TIME, nullable=False),
            sa.Column("merged_into", UUID, index=True),
            sa.Column("version", sa.Integer, nullable=False),
        )  # fmt: skip
        t["person_facts"] = _table(
            metadata, "person_facts", suffix,
            sa.Column("person_id", UUID, primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("kind", sa.String(20), nullable=False),  # domain.residents.PersonFact
            sa.Column("on", sa.Date),
            sa.Column("status", sa.String(20)),
            sa.Column("dwelling_id", UUID, index=True),
        )  # fmt: skip
        t["tags"] = _table(
            metadata, "tags", suffix,
            sa.Column("person_id", UUID, primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("tag", sa.String(40), nullable=False),
            sa.Column("source", sa.String(200), nullable=False),
            sa.Column("valid_from", sa.Date, nullable=False),
            sa.Column("valid_until", sa.Date),
            sa.Column("untagged_on", sa.Date),
            sa.Column("untag_reason", sa.String(500)),
        )  # fmt: skip
        t["households"] = _table(
            metadata, "households", suffix,
            sa.Column("household_id", UUID, primary_key=True),
            sa.Column("number", sa.String(40), nullable=False),
            sa.Column("type", sa.String(20), nullable=False),
            sa.Column("dwelling_id", UUID, nullable=False, index=True),
            sa.Column("registered_on", sa.Date, nullable=False),
        )  # fmt: skip
        t["household_facts"] = _table(
            metadata, "household_facts", suffix,
            sa.Column("household_id", UUID, primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("kind", sa.String(10), nullable=False),  # domain.residents.HouseholdFact
            sa.Column("on", sa.Date, nullable=False),
            sa.Column("person_id", UUID, nullable=False, index=True),
            sa.Column("relationship", sa.String(30)),
        )  # fmt: skip
        t["visits"] = _table(
            metadata, "visits", suffix,
            sa.Column("visit_id", UUID, primary_key=True),
            sa.Column("dwelling_id", UUID, nullable=False, index=True),
            sa.Column("household_id", UUID, index=True),
            sa.Column("visited_at", TIME, nullable=False),
            sa.Column("worker_account", sa.String(200), nullable=False),
            sa.Column("persons", sa.JSON, nullable=False),  # confirmed, added or corrected
        )  # fmt: skip
        t["visit_persons"] = _table(
            metadata, "visit_persons", suffix,
            sa.Column("visit_id", UUID, primary_key=True),
            sa.Column("person_id", UUID, primary_key=True, index=True),
        )  # fmt: skip
        t["needs"] = _table(
            metadata, "needs", suffix,
            sa.Column("need_id", UUID, primary_key=True),
            sa.Column("visit_id", UUID, nullable=False, index=True),
            sa.Column("dwelling_id", UUID, nullable=False, index=True),
            sa.Column("household_id", UUID, index=True),
            sa.Column("person_id", UUID, index=True),
            sa.Column("category", sa.String(60), nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("noted_at", TIME, nullable=False),
        )  # fmt: skip
        t["cases"] = _table(
            metadata, "cases", suffix,
            sa.Column("case_id", UUID, primary_key=True),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("assistance", sa.String(20)),
            sa.Column("source", sa.String(20), nullable=False),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("grid_id", UUID),
            sa.Column("ticket_id", UUID, index=True),
            sa.Column("need_id", UUID, index=True),
            sa.Column("opened_at", TIME, nullable=False),
        )  # fmt: skip
        t["case_residents"] = _table(
            metadata, "case_residents", suffix,
            sa.Column("case_id", UUID, primary_key=True),
            sa.Column("resident", sa.String(100), primary_key=True, index=True),
            sa.Column("role", sa.String(20), primary_key=True),  # subject, or the party's role
        )  # fmt: skip
        t["case_steps"] = _table(
            metadata, "case_steps", suffix,
            sa.Column("case_id", UUID, primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("step", sa.String(20), nullable=False),
            sa.Column("at", TIME, nullable=False),
        )  # fmt: skip
        t["parties"] = _table(
            metadata, "parties", suffix,
            sa.Column("party_id", UUID, primary_key=True),
            sa.Column("case_id", UUID, nullable=False, index=True),
            sa.Column("role", sa.String(20), nullable=False),
            sa.Column("resident", sa.String(100), index=True),
            sa.Column("name_masked", sa.String(100), nullable=False),
        )  # fmt: skip
        t["sessions"] = _table(
            metadata, "sessions", suffix,
            sa.Column("session_id", UUID, primary_key=True),
            sa.Column("case_id", UUID, nullable=False, index=True),
            sa.Column("held_at", TIME, nullable=False),
        )  # fmt: skip
        t["agreements"] = _table(
            metadata, "agreements", suffix,
            sa.Column("agreement_id", UUID, primary_key=True),
            sa.Column("case_id", UUID, nullable=False, index=True),
            sa.Column("signed_on", sa.Date, nullable=False),
            sa.Column("perform_by", sa.Date, nullable=False),
            sa.Column("confirmation_deadline", sa.Date, nullable=False),
            sa.Column("honoured", sa.Boolean),
            sa.Column("followed_up_at", TIME),
        )  # fmt: skip
        t["care_plans"] = _table(
            metadata, "care_plans", suffix,
            sa.Column("plan_id", UUID, primary_key=True),
            sa.Column("resident", sa.String(100), nullable=False, index=True),
            sa.Column("resident_masked", sa.String(100), nullable=False),
            sa.Column("grid_id", UUID, nullable=False),
            sa.Column("kind", sa.String(20), nullable=False),
            sa.Column("every_days", sa.Integer, nullable=False),
            sa.Column("worker_account", sa.String(200), nullable=False),
            sa.Column("starts_on", sa.Date, nullable=False),
            sa.Column("ended_on", sa.Date),
        )  # fmt: skip
        t["care_visits"] = _table(
            metadata, "care_visits", suffix,
            sa.Column("visit_id", UUID, primary_key=True),
            sa.Column("plan_id", UUID, nullable=False, index=True),
            sa.Column("visited_on", sa.Date, nullable=False),
        )  # fmt: skip
        t["tickets"] = _table(
            metadata, "tickets", suffix,
            sa.Column("ticket_id", UUID, primary_key=True),
            sa.Column("ticket_number", sa.String(60), nullable=False),
            sa.Column("received_at", TIME, nullable=False),
            sa.Column("category_name", sa.String(200), nullable=False),
            sa.Column("kind", sa.String(30), nullable=False),
            sa.Column("deadline", TIME, nullable=False),
        )  # fmt: skip
        t["ticket_steps"] = _table(
            metadata, "ticket_steps", suffix,
            sa.Column("ticket_id", UUID, primary_key=True),
            sa.Column("version", sa.Integer, primary_key=True),
            sa.Column("step", sa.String(20), nullable=False),
            sa.Column("at", TIME, nullable=False),
            sa.Column("place_id", UUID, index=True),  # a routing's dwelling or building
            sa.Column("grid_id", UUID),
            sa.Column("satisfaction", sa.String(30)),
        )  # fmt: skip
        t["erasures"] = _table(
            metadata, "erasures", suffix,
            sa.Column("subject_id", UUID, primary_key=True),
            sa.Column("kind", sa.String(10), primary_key=True),  # person, party
            sa.Column("source", sa.String(20), primary_key=True),  # the producer
        )  # fmt: skip
        return t

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """The batch folded in memory and written once per table (``projections.batching``),
        unless folding is switched off: then event by event, with the same rows."""
        if not batching():
            await super().apply_many(ctx, events, new_streams)
            return
        await apply_batched(self, ctx, events, new_streams)

    # -- persons ----------------------------------------------------------------------------------

    @handles(r.PersonRegistered)
    async def on_registered(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonRegistered]
    ) -> None:
        d = event.data
        await _insert(
            ctx, "persons", person_id=d.person_id, sex=d.sex, birth_year=d.birth_year,
            hukou_type=d.hukou_type, name_masked=d.name_masked, identity_masked=d.identity_masked,
            phone_masked=d.phone_masked, registered_at=utc(event.envelope.time), merged_into=None,
            version=event.version,
        )  # fmt: skip
        await _fact(ctx, event, PersonFact.REGISTERED, None, status=d.residence_status)

    @handles(r.PersonDetailsCorrected)
    async def on_corrected(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonDetailsCorrected]
    ) -> None:
        """The masks the registry published last are the ones shown (corrections are not dated:
        a view as of an earlier day shows the corrected masks too)."""
        d = event.data
        await _update_person(
            ctx, event, sex=d.sex, birth_year=d.birth_year, hukou_type=d.hukou_type,
            name_masked=d.name_masked, identity_masked=d.identity_masked,
            phone_masked=d.phone_masked,
        )  # fmt: skip

    @handles(r.PersonResidenceStatusChanged)
    async def on_status(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonResidenceStatusChanged]
    ) -> None:
        d = event.data
        await _fact(ctx, event, PersonFact.STATUS, d.on, status=d.residence_status)

    @handles(r.PersonMovedIn)
    async def on_moved_in(self, ctx: ApplyContext, event: RecordedEvent[r.PersonMovedIn]) -> None:
        d = event.data
        await _fact(ctx, event, PersonFact.MOVED_IN, d.on, dwelling_id=d.dwelling_id)

    @handles(r.PersonMovedOut)
    async def on_moved_out(self, ctx: ApplyContext, event: RecordedEvent[r.PersonMovedOut]) -> None:
        d = event.data
        await _fact(ctx, event, PersonFact.MOVED_OUT, d.on, dwelling_id=d.dwelling_id)

    @handles(r.PersonTagged)
    async def on_tagged(self, ctx: ApplyContext, event: RecordedEvent[r.PersonTagged]) -> None:
        d = event.data
        await _insert(
            ctx, "tags", person_id=d.person_id, version=event.version, tag=d.tag, source=d.source,
            valid_from=d.valid_from, valid_until=d.valid_until, untagged_on=None, untag_reason=None,
        )  # fmt: skip

    @handles(r.PersonUntagged)
    async def on_untagged(self, ctx: ApplyContext, event: RecordedEvent[r.PersonUntagged]) -> None:
        d = event.data
        for row in held(ctx, "tags").values():
            if (
                row["person_id"] == d.person_id
                and row["tag"] == d.tag
                and row["untagged_on"] is None
            ):
                row.update(untagged_on=d.on, untag_reason=d.reason)
        # the tags from before the batch (a batch's own are not in the database yet)
        tags = ctx.tables["tags"]
        await ctx.conn.execute(
            sa.update(tags)
            .where(tags.c.person_id == d.person_id, tags.c.tag == d.tag,
                   tags.c.untagged_on.is_(None))
            .values(untagged_on=d.on, untag_reason=d.reason)
        )  # fmt: skip

    @handles(r.PersonMerged)
    async def on_merged(self, ctx: ApplyContext, event: RecordedEvent[r.PersonMerged]) -> None:
        await _update_person(ctx, event, merged_into=event.data.into_person_id)

    @handles(r.PersonMergeUndone)
    async def on_unmerged(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonMergeUndone]
    ) -> None:
        await _update_person(ctx, event, merged_into=None)

    @handles(r.PersonalDataErased)
    async def on_erased(
        self, ctx: ApplyContext, event: RecordedEvent[r.PersonalDataErased]
    ) -> None:
        await _erased(ctx, event.data.person_id, PERSON, "registry")

    # -- households -------------------------------------------------------------------------------

    @handles(r.HouseholdRegistered)
    async def on_household(
        self, ctx: ApplyContext, event: RecordedEvent[r.HouseholdRegistered]
    ) -> None:
        """The head joins by a HouseholdMemberJoined of their own (the registry appends both)."""
        d = event.data
        await _insert(
            ctx, "households", household_id=d.household_id, number=d.number, type=d.type,
            dwelling_id=d.dwelling_id, registered_on=d.on,
        )  # fmt: skip

    @handles(r.HouseholdMemberJoined)
    async def on_joined(
        self, ctx: ApplyContext, event: RecordedEvent[r.HouseholdMemberJoined]
    ) -> None:
        d = event.data
        await _member(ctx, event, HouseholdFact.JOINED, d.person_id, d.on, d.relationship)

    @handles(r.HouseholdMemberLeft)
    async def on_left(self, ctx: ApplyContext, event: RecordedEvent[r.HouseholdMemberLeft]) -> None:
        d = event.data
        await _member(ctx, event, HouseholdFact.LEFT, d.person_id, d.on, None)

    @handles(r.HouseholdHeadChanged)
    async def on_head(
        self, ctx: ApplyContext, event: RecordedEvent[r.HouseholdHeadChanged]
    ) -> None:
        d = event.data
        await _member(
            ctx, event, HouseholdFact.HEAD, d.head_person_id, d.on, d.former_head_relationship
        )

    # -- visits and needs -------------------------------------------------------------------------

    @handles(r.VisitRecorded)
    async def on_visit(self, ctx: ApplyContext, event: RecordedEvent[r.VisitRecorded]) -> None:
        d = event.data
        named = sorted(
            {*(d.persons_confirmed or ()), *(d.persons_added or ()), *(d.persons_corrected or ())}
        )
        await _insert(
            ctx, "visits", visit_id=d.visit_id, dwelling_id=d.dwelling_id,
            household_id=d.household_id, visited_at=utc(d.visited_at),
            worker_account=d.worker_account, persons=[str(p) for p in named],
        )  # fmt: skip
        for p in named:
            await add_row(ctx, "visit_persons", {"visit_id": d.visit_id, "person_id": p})

    @handles(r.NeedNoted)
    async def on_need(self, ctx: ApplyContext, event: RecordedEvent[r.NeedNoted]) -> None:
        d = event.data
        await _insert(
            ctx, "needs", need_id=d.need_id, visit_id=d.visit_id, dwelling_id=d.dwelling_id,
            household_id=d.household_id, person_id=d.person_id, category=d.category,
            description=d.description, noted_at=utc(event.envelope.time),
        )  # fmt: skip

    # -- cases ------------------------------------------------------------------------------------

    @handles(c.CaseOpened)
    async def on_case(self, ctx: ApplyContext, event: RecordedEvent[c.CaseOpened]) -> None:
        d = event.data
        await _insert(
            ctx, "cases", case_id=d.case_id, kind=d.kind, assistance=d.assistance,
            source=d.source, title=d.title, grid_id=d.grid_id, ticket_id=d.ticket_id,
            need_id=d.need_id, opened_at=utc(event.envelope.time),
        )  # fmt: skip
        for s in sorted(set(d.subjects or ())):
            await add_row(ctx, "case_residents", {"case_id": d.case_id, "resident": s,
                                                  "role": "subject"})  # fmt: skip

    @handles(c.CaseAssigned, c.CaseAccepted, c.CaseProgressNoted, c.CaseEscalated,
             c.CaseReferred, c.CaseResolved, c.CaseClosed, c.CaseReopened,
             c.CaseFollowedUp)  # fmt: skip
    async def on_step(self, ctx: ApplyContext, event: RecordedEvent[Any]) -> None:
        await _step(ctx, event, _CASE_STEPS[type(event.data)])

    @handles(c.MediationPartyJoined)
    async def on_party(
        self, ctx: ApplyContext, event: RecordedEvent[c.MediationPartyJoined]
    ) -> None:
        d = event.data
        await _insert(
            ctx, "parties", party_id=d.party_id, case_id=d.case_id, role=d.role,
            resident=d.resident, name_masked=d.name_masked,
        )  # fmt: skip
        if d.resident is not None:
            await replace_row(ctx, "case_residents", {"case_id": d.case_id, "resident": d.resident,
                                                      "role": d.role})  # fmt: skip

    @handles(c.MediationSessionHeld)
    async def on_session(
        self, ctx: ApplyContext, event: RecordedEvent[c.MediationSessionHeld]
    ) -> None:
        d = event.data
        await _insert(
            ctx, "sessions", session_id=d.session_id, case_id=d.case_id, held_at=utc(d.held_at)
        )
        await _step(ctx, event, "worked")

    @handles(c.MediationAgreementSigned)
    async def on_agreement(
        self, ctx: ApplyContext, event: RecordedEvent[c.MediationAgreementSigned]
    ) -> None:
        d = event.data
        await _insert(
            ctx, "agreements", agreement_id=d.agreement_id, case_id=d.case_id,
            signed_on=d.signed_on, perform_by=d.perform_by,
            confirmation_deadline=d.confirmation_deadline, honoured=None, followed_up_at=None,
        )  # fmt: skip

    @handles(c.AgreementFollowedUp)
    async def on_agreement_followed_up(
        self, ctx: ApplyContext, event: RecordedEvent[c.AgreementFollowedUp]
    ) -> None:
        d = event.data
        await update_row(
            ctx, "agreements", {"agreement_id": d.agreement_id},
            {"honoured": d.honoured, "followed_up_at": utc(event.envelope.time)},
        )  # fmt: skip

    @handles(c.PartyErased)
    async def on_party_erased(self, ctx: ApplyContext, event: RecordedEvent[c.PartyErased]) -> None:
        await _erased(ctx, event.data.party_id, PARTY, "cases")

    @handles(c.ResidentDataErased)
    async def on_resident_erased(
        self, ctx: ApplyContext, event: RecordedEvent[c.ResidentDataErased]
    ) -> None:
        await _erased(ctx, event.data.person_id, PERSON, "cases")

    # -- care plans -------------------------------------------------------------------------------

    @handles(c.CarePlanStarted)
    async def on_plan(self, ctx: ApplyContext, event: RecordedEvent[c.CarePlanStarted]) -> None:
        d = event.data
        await _insert(
            ctx, "care_plans", plan_id=d.plan_id, resident=d.resident,
            resident_masked=d.resident_masked, grid_id=d.grid_id, kind=d.kind,
            every_days=d.every_days, worker_account=d.worker_account, starts_on=d.starts_on,
            ended_on=None,
        )  # fmt: skip

    @handles(c.CareVisitRecorded)
    async def on_care_visit(
        self, ctx: ApplyContext, event: RecordedEvent[c.CareVisitRecorded]
    ) -> None:
        d = event.data
        await _insert(ctx, "care_visits", visit_id=d.visit_id, plan_id=d.plan_id,
                      visited_on=d.visited_on)  # fmt: skip

    @handles(c.CarePlanEnded)
    async def on_plan_ended(self, ctx: ApplyContext, event: RecordedEvent[c.CarePlanEnded]) -> None:
        d = event.data
        await update_row(ctx, "care_plans", {"plan_id": d.plan_id}, {"ended_on": d.ended_on})

    # -- hotline tickets --------------------------------------------------------------------------

    @handles(h.TicketReceived)
    async def on_ticket(self, ctx: ApplyContext, event: RecordedEvent[h.TicketReceived]) -> None:
        """The caller's masked name and phone are not kept: the ticket is shown at an address,
        and its caller need not be the resident whose picture shows it."""
        d = event.data
        await _insert(
            ctx, "tickets", ticket_id=d.ticket_id, ticket_number=d.ticket_number,
            received_at=utc(d.received_at), category_name=d.category_name, kind=d.kind,
            deadline=utc(d.deadline),
        )  # fmt: skip
        await _ticket_step(ctx, event, "received", at=d.received_at)

    @handles(h.TicketRoutedToGrid)
    async def on_routed(
        self, ctx: ApplyContext, event: RecordedEvent[h.TicketRoutedToGrid]
    ) -> None:
        d = event.data
        await _ticket_step(ctx, event, "routed", place_id=d.place_id, grid_id=d.grid_id)

    @handles(h.TicketFollowedUp)
    async def on_rated(self, ctx: ApplyContext, event: RecordedEvent[h.TicketFollowedUp]) -> None:
        await _ticket_step(ctx, event, "followed_up", satisfaction=event.data.satisfaction)

    @handles(h.TicketAwaitingTriage, h.TicketAccepted, h.TicketReturned, h.TicketReplied,
             h.TicketReopened, h.TicketClosed, h.TicketLinkedAsDuplicate)  # fmt: skip
    async def on_ticket_step(self, ctx: ApplyContext, event: RecordedEvent[Any]) -> None:
        await _ticket_step(ctx, event, _TICKET_STEPS[type(event.data)])


_CASE_STEPS: dict[type, str] = {
    c.CaseAssigned: "assigned", c.CaseAccepted: "accepted", c.CaseProgressNoted: "worked",
    c.CaseEscalated: "escalated", c.CaseReferred: "referred", c.CaseResolved: "resolved",
    c.CaseClosed: "closed", c.CaseReopened: "reopened", c.CaseFollowedUp: "followed_up",
}  # fmt: skip
"""The step (``domain.residents.stage``) each event of a case records."""

_TICKET_STEPS: dict[type, str] = {
    h.TicketAwaitingTriage: "awaiting_triage", h.TicketAccepted: "accepted",
    h.TicketReturned: "returned", h.TicketReplied: "replied", h.TicketReopened: "reopened",
    h.TicketClosed: "closed", h.TicketLinkedAsDuplicate: "duplicate",
}  # fmt: skip


async def _insert(ctx: ApplyContext, table: str, **values: Any) -> None:
    await add_row(ctx, table, values)


async def _update_person(ctx: ApplyContext, event: RecordedEvent[Any], **values: Any) -> None:
    await update_row(
        ctx, "persons", {"person_id": event.data.person_id}, {**values, "version": event.version}
    )


async def _fact(
    ctx: ApplyContext, event: RecordedEvent[Any], kind: PersonFact, on: Any, **values: Any
) -> None:
    await _insert(ctx, "person_facts", person_id=event.data.person_id, version=event.version,
                  kind=kind.value, on=on, **values)  # fmt: skip


async def _member(
    ctx: ApplyContext,
    event: RecordedEvent[Any],
    kind: HouseholdFact,
    person_id: Any,
    on: Any,
    relationship: str | None,
) -> None:
    await _insert(
        ctx, "household_facts", household_id=event.data.household_id, version=event.version,
        kind=kind.value, on=on, person_id=person_id, relationship=relationship,
    )  # fmt: skip


async def _step(ctx: ApplyContext, event: RecordedEvent[Any], step: str) -> None:
    await _insert(ctx, "case_steps", case_id=event.data.case_id, version=event.version, step=step,
                  at=utc(event.envelope.time))  # fmt: skip


async def _ticket_step(
    ctx: ApplyContext, event: RecordedEvent[Any], step: str, *, at: Any = None, **values: Any
) -> None:
    await _insert(
        ctx, "ticket_steps", ticket_id=event.data.ticket_id, version=event.version, step=step,
        at=utc(at if at is not None else event.envelope.time), **values,
    )  # fmt: skip


async def _erased(ctx: ApplyContext, subject_id: Any, kind: str, source: str) -> None:
    """Kept apart from the person's rows, so an erasure counts whichever arrived first."""
    await replace_row(ctx, "erasures", {"subject_id": subject_id, "kind": kind, "source": source})
