"""Cases as rows, and the queries the case views, the inbox, triage and the reactions ask of
them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.cases.domain.cases import (
    ERASED,
    OPEN,
    STEPS,
    AgreementFollowedUp,
    CaseAccepted,
    CaseAssigned,
    CaseClosed,
    CaseEscalated,
    CaseFollowedUp,
    CaseOpened,
    CaseProgressNoted,
    CaseReferred,
    CaseReopened,
    CaseResolved,
    Confirmation,
    ConfirmationReminderDue,
    ConfirmationWindowClosed,
    HandoverAccepted,
    JudicialConfirmationRequested,
    Level,
    MediationAgreementSigned,
    MediationPartyJoined,
    MediationSessionHeld,
    MediatorAppointed,
    PartyErased,
    Status,
    queue_of,
    stream_id,
)
from wangge.cases.domain.erasure import ResidentDataErased
from wangge.cases.personal_data import opened
from wangge.cases.projections.residents import merged_into
from wangge.events import RecordedEvent, default_catalogue
from wangge.events.projection import ApplyContext, Projection, handles
from wangge.events.rows import ONE_MORE, Swap, fold_new_streams, insert_row, read_row, update_row
from wangge.events.sealing import KeyRing
from wangge.events.store import EventStore
from wangge.governance.columns import TIME as TIME_COLUMN
from wangge.governance.times import stored

UUID = sa.Uuid(as_uuid=True)
Tables = Mapping[str, sa.Table]
Row = sa.Row[*tuple[Any, ...]]
"""A row of one of the tables (any columns)."""
_OPEN = [s.value for s in OPEN]
WHEN = TIME_COLUMN


class Cases(Projection):
    """One row per case, its mediation's parties and sessions."""

    name = "cases_cases"
    inline = True

    def __init__(self) -> None:
        super().__init__(default_catalogue)

    def define_tables(self, metadata: sa.MetaData, suffix: str) -> Mapping[str, sa.Table]:
        cases = sa.Table(
            f"cases{suffix}",
            metadata,
            sa.Column("case_id", UUID, primary_key=True),
            sa.Column("kind", sa.String(20), nullable=False, index=True),
            sa.Column("assistance", sa.String(20)),
            sa.Column("source", sa.String(20), nullable=False),
            sa.Column("title", sa.String(200), nullable=False),
            sa.Column("description", sa.Text, nullable=False),
            sa.Column("grid_id", UUID, index=True),
            sa.Column("subjects", sa.JSON, nullable=False),
            sa.Column("ticket_id", UUID, index=True),
            sa.Column("hotspot_id", UUID),
            sa.Column("need_id", UUID, index=True),
            sa.Column("status", sa.String(20), nullable=False, index=True),
            sa.Column("account", sa.String(200), index=True),
            sa.Column("worker_id", UUID),
            sa.Column("deadline", WHEN, index=True),
            sa.Column("opened_at", WHEN, nullable=False),
            sa.Column("accepted_at", WHEN),
            sa.Column("resolved_at", WHEN),
            sa.Column("closed_at", WHEN),
            sa.Column("resolution", sa.Text),
            sa.Column("solved", sa.Boolean),
            sa.Column("at_source", sa.Boolean),
            sa.Column("escalated_level", sa.String(20)),
            sa.Column("escalated_to", sa.String(200)),
            sa.Column("referred_to", sa.String(200)),
            sa.Column("queue", sa.String(200), index=True),
            sa.Column("queued_at", WHEN),
            sa.Column("queue_reason", sa.String(1000)),
            sa.Column("handover", sa.String(20)),
            sa.Column("queue_accepted_at", WHEN),
            sa.Column("queue_accepted_by", sa.String(200)),
            sa.Column("reopened", sa.Integer, nullable=False),
            sa.Column("satisfied", sa.Boolean),
            sa.Column("mediators", sa.JSON, nullable=False),
            sa.Column("sessions", sa.Integer, nullable=False),
            sa.Column("agreement_id", UUID),
            sa.Column("agreement_signed_on", sa.Date),
            sa.Column("perform_by", sa.Date),
            sa.Column("confirmation_deadline", sa.Date),
            sa.Column("honoured", sa.Boolean),
            sa.Column("confirmation", sa.String(20), index=True),
            sa.Column("confirmation_reminded_at", WHEN),
            sa.Column("confirmation_requested_on", sa.Date),
            sa.Column("confirmation_court", sa.String(200)),
            sa.Column("version", sa.Integer, nullable=False),
            sa.Column("updated_at", WHEN, nullable=False),
        )
        parties = sa.Table(
            f"case_parties{suffix}",
            metadata,
            sa.Column("case_id", UUID, primary_key=True),
            sa.Column("party_id", UUID, primary_key=True),
            sa.Column("role", sa.String(20), nullable=False),
            sa.Column("resident", sa.String(100)),
            sa.Column("name_masked", sa.String(60), nullable=False),
        )
        sessions = sa.Table(
            f"case_sessions{suffix}",
            metadata,
            sa.Column("case_id", UUID, primary_key=True),
            sa.Column("session_id", UUID, primary_key=True),
            sa.Column("held_at", WHEN, nullable=False),
            sa.Column("place", sa.String(200), nullable=False),
            sa.Column("attendees", sa.JSON, nullable=False),
            sa.Column("mediators", sa.JSON, nullable=False),
            sa.Column("summary", sa.Text, nullable=False),
            sa.Column("signed_by", sa.JSON, nullable=False),
        )
        return {"cases": cases, "parties": parties, "sessions": sessions}

    async def apply_many(
        self, ctx: ApplyContext, events: Sequence[RecordedEvent], new_streams: set[str]
    ) -> None:
        """Cases that start in this batch (a reaction's batch of tickets, each opened and
        assigned; a rebuild) are folded in memory and inserted as their final rows. A resident's
        erasure (a stream of its own) changes rows of other streams: it is applied after them,
        in order with the older streams' events."""
        await fold_new_streams(self, ctx, events, {s for s in new_streams if s.startswith("case-")})

    async def _set(self, ctx: ApplyContext, event: RecordedEvent[Any], **values: Any) -> None:
        """Update the event's case row: ``values``, the status its step moves the case to
        (``cases.STEPS``, the domain's own), its version."""
        key = {"case_id": event.data.case_id}
        step = STEPS.get(type(event.data))
        if step is not None and step.to is not None:
            # a step that moves the case only from one status is a swap: the row is not read
            values["status"] = (
                step.to if step.only_from is None else Swap(step.only_from.value, step.to.value)
            )
        values |= {"version": event.version, "updated_at": event.envelope.time}
        await update_row(ctx, "cases", key, values)

    @handles(CaseOpened)
    async def on_opened(self, ctx: ApplyContext, event: RecordedEvent[CaseOpened]) -> None:
        d = event.data
        await insert_row(
            ctx, "cases", dict(
                case_id=d.case_id, kind=d.kind, assistance=d.assistance, source=d.source,
                title=d.title, description=d.description, grid_id=d.grid_id,
                subjects=d.subjects, ticket_id=d.ticket_id, hotspot_id=d.hotspot_id,
                need_id=d.need_id,
                status=Status.OPENED, deadline=d.deadline, opened_at=event.envelope.time,
                reopened=0, mediators=[], sessions=0, version=event.version,
                updated_at=event.envelope.time,
            ),
        )  # fmt: skip

    @handles(CaseAssigned)
    async def on_assigned(self, ctx: ApplyContext, event: RecordedEvent[CaseAssigned]) -> None:
        d = event.data
        await self._set(ctx, event, account=d.account, worker_id=d.worker_id)

    @handles(CaseAccepted)
    async def on_accepted(self, ctx: ApplyContext, event: RecordedEvent[CaseAccepted]) -> None:
        await self._set(ctx, event, accepted_at=event.envelope.time)

    @handles(CaseProgressNoted)
    async def on_progress(self, ctx: ApplyContext, event: RecordedEvent[CaseProgressNoted]) -> None:
        await self._set(ctx, event)

    @handles(CaseEscalated)
    async def on_escalated(self, ctx: ApplyContext, event: RecordedEvent[CaseEscalated]) -> None:
        d = event.data
        queued = _queued(event, queue_of(d.level, d.to), d.reason)
        await self._set(ctx, event, escalated_level=d.level, escalated_to=d.to, **queued)

    @handles(CaseReferred)
    async def on_referred(self, ctx: ApplyContext, event: RecordedEvent[CaseReferred]) -> None:
        d = event.data
        await self._set(
            ctx, event, referred_to=d.department, **_queued(event, d.department, d.reason)
        )

    @handles(HandoverAccepted)
    async def on_signed_for(
        self, ctx: ApplyContext, event: RecordedEvent[HandoverAccepted]
    ) -> None:
        await self._set(
            ctx, event, queue_accepted_at=event.envelope.time, queue_accepted_by=event.data.account
        )

    @handles(CaseResolved)
    async def on_resolved(self, ctx: ApplyContext, event: RecordedEvent[CaseResolved]) -> None:
        d = event.data
        await self._set(
            ctx, event, resolved_at=event.envelope.time, resolution=d.resolution,
            solved=d.solved, at_source=d.at_source,
        )  # fmt: skip

    @handles(CaseClosed)
    async def on_closed(self, ctx: ApplyContext, event: RecordedEvent[CaseClosed]) -> None:
        await self._set(ctx, event, closed_at=event.envelope.time)

    @handles(CaseReopened)
    async def on_reopened(self, ctx: ApplyContext, event: RecordedEvent[CaseReopened]) -> None:
        await self._set(ctx, event, reopened=ONE_MORE, closed_at=None)

    @handles(CaseFollowedUp)
    async def on_followed_up(self, ctx: ApplyContext, event: RecordedEvent[CaseFollowedUp]) -> None:
        await self._set(ctx, event, satisfied=event.data.satisfied)

    @handles(MediationPartyJoined)
    async def on_party(self, ctx: ApplyContext, event: RecordedEvent[MediationPartyJoined]) -> None:
        d = event.data
        await insert_row(
            ctx, "parties", dict(
                case_id=d.case_id, party_id=d.party_id, role=d.role, resident=d.resident,
                name_masked=d.name_masked,
            ),
        )  # fmt: skip
        await self._set(ctx, event)

    @handles(MediatorAppointed)
    async def on_mediator(self, ctx: ApplyContext, event: RecordedEvent[MediatorAppointed]) -> None:
        d = event.data
        case = await read_row(ctx, "cases", {"case_id": d.case_id})
        current = case["mediators"] if case is not None else []
        await self._set(ctx, event, mediators=[*(current or []), d.mediator])

    @handles(MediationSessionHeld)
    async def on_session(
        self, ctx: ApplyContext, event: RecordedEvent[MediationSessionHeld]
    ) -> None:
        d = event.data
        await insert_row(
            ctx, "sessions", dict(
                case_id=d.case_id, session_id=d.session_id, held_at=d.held_at, place=d.place,
                attendees=[str(a) for a in d.attendees], mediators=d.mediators,
                summary=d.summary, signed_by=[str(s) for s in d.signed_by],
            ),
        )  # fmt: skip
        await self._set(ctx, event, sessions=ONE_MORE)

    @handles(MediationAgreementSigned)
    async def on_agreement(
        self, ctx: ApplyContext, event: RecordedEvent[MediationAgreementSigned]
    ) -> None:
        d = event.data
        await self._set(
            ctx, event, agreement_id=d.agreement_id, agreement_signed_on=d.signed_on,
            perform_by=d.perform_by, confirmation_deadline=d.confirmation_deadline,
            confirmation=Confirmation.OPEN,
        )  # fmt: skip

    @handles(ConfirmationReminderDue)
    async def on_reminded(
        self, ctx: ApplyContext, event: RecordedEvent[ConfirmationReminderDue]
    ) -> None:
        await self._set(ctx, event, confirmation_reminded_at=event.envelope.time)

    @handles(JudicialConfirmationRequested)
    async def on_confirmation_requested(
        self, ctx: ApplyContext, event: RecordedEvent[JudicialConfirmationRequested]
    ) -> None:
        d = event.data
        await self._set(
            ctx, event, confirmation=Confirmation.REQUESTED,
            confirmation_requested_on=d.requested_on, confirmation_court=d.court,
        )  # fmt: skip

    @handles(ConfirmationWindowClosed)
    async def on_confirmation_lapsed(
        self, ctx: ApplyContext, event: RecordedEvent[ConfirmationWindowClosed]
    ) -> None:
        await self._set(ctx, event, confirmation=Confirmation.LAPSED)

    @handles(AgreementFollowedUp)
    async def on_agreement_followed_up(
        self, ctx: ApplyContext, event: RecordedEvent[AgreementFollowedUp]
    ) -> None:
        await self._set(ctx, event, honoured=event.data.honoured)

    @handles(PartyErased)
    async def on_party_erased(self, ctx: ApplyContext, event: RecordedEvent[PartyErased]) -> None:
        d = event.data
        key = {"case_id": d.case_id, "party_id": d.party_id}
        await update_row(ctx, "parties", key, {"name_masked": ERASED})
        await self._set(ctx, event)

    @handles(ResidentDataErased)
    async def on_resident_erased(
        self, ctx: ApplyContext, event: RecordedEvent[ResidentDataErased]
    ) -> None:
        """The resident is shown as erased in every case they are a party to."""
        p = ctx.tables["parties"]
        await ctx.conn.execute(
            sa.update(p).where(p.c.resident == str(event.data.person_id)).values(name_masked=ERASED)
        )


def _queued(event: RecordedEvent[Any], queue: str, reason: str) -> dict[str, Any]:
    """The row's queue once an escalation or referral put the case there, not signed for."""
    handover = "referral" if isinstance(event.data, CaseReferred) else "escalation"
    return dict(
        queue=queue, queued_at=event.envelope.time, queue_reason=reason, handover=handover,
        queue_accepted_at=None, queue_accepted_by=None,
    )  # fmt: skip


# -- queries --------------------------------------------------------------------------------------


async def case(conn: AsyncConnection, tables: Tables, case_id: uuid.UUID) -> Row | None:
    """A case's row."""
    c = tables["cases"]
    return (await conn.execute(sa.select(c).where(c.c.case_id == case_id))).first()


def _overdue_first(deadline: datetime | None, now: datetime) -> tuple[int, float]:
    if deadline is None:
        return (2, 0.0)
    moment = stored(deadline)
    return (0 if moment < now else 1, moment.timestamp())


async def inbox(conn: AsyncConnection, tables: Tables, account: str, *, now: datetime) -> list[Row]:
    """The account's open cases, overdue first, then by deadline."""
    c = tables["cases"]
    found = await conn.execute(sa.select(c).where(c.c.account == account, c.c.status.in_(_OPEN)))
    return sorted(found.all(), key=lambda r: _overdue_first(r.deadline, now))


async def triage(conn: AsyncConnection, tables: Tables, *, now: datetime) -> list[Row]:
    """Open cases nobody holds, or escalated to a community: overdue first, then by deadline."""
    c = tables["cases"]
    found = await conn.execute(
        sa.select(c).where(
            c.c.status.in_(_OPEN),
            sa.or_(c.c.account.is_(None), c.c.escalated_level == Level.COMMUNITY),
        )
    )
    return sorted(found.all(), key=lambda r: _overdue_first(r.deadline, now))


async def queue(conn: AsyncConnection, tables: Tables, name: str, *, now: datetime) -> list[Row]:
    """The open cases escalated or referred to the queue ``name``: those nobody signed for
    first, then overdue first, then by deadline."""
    c = tables["cases"]
    found = await conn.execute(sa.select(c).where(c.c.queue == name, c.c.status.in_(_OPEN)))
    return sorted(
        found.all(),
        key=lambda r: (r.queue_accepted_at is not None, *_overdue_first(r.deadline, now)),
    )


async def confirmations_to_sweep(
    conn: AsyncConnection, tables: Tables, *, today: date, remind_days: int
) -> list[uuid.UUID]:
    """Cases whose agreement's confirmation window is open and either closes within
    ``remind_days`` unreminded, or has closed."""
    c = tables["cases"]
    soon = today + timedelta(days=remind_days)
    query = sa.select(c.c.case_id).where(
        c.c.confirmation == Confirmation.OPEN,
        sa.or_(
            sa.and_(c.c.confirmation_reminded_at.is_(None), c.c.confirmation_deadline <= soon),
            c.c.confirmation_deadline < today,
        ),
    )
    return list(await conn.scalars(query))


async def confirmations_reminded(conn: AsyncConnection, tables: Tables, account: str) -> list[Row]:
    """Agreements of the account's cases (as their worker or a mediator) whose confirmation
    window closes soon, unasked: soonest first."""
    c = tables["cases"]
    query = sa.select(c).where(
        c.c.confirmation == Confirmation.OPEN,
        c.c.confirmation_reminded_at.is_not(None),
        # mediators are a JSON list of names or accounts: its text holds each as JSON writes it
        sa.or_(
            c.c.account == account,
            sa.cast(c.c.mediators, sa.Text).contains(json.dumps(account), autoescape=True),
        ),
    )
    return list((await conn.execute(query.order_by(c.c.confirmation_deadline))).all())


async def to_take_over(
    conn: AsyncConnection, tables: Tables, grid_ids: Collection[uuid.UUID], account: str
) -> list[uuid.UUID]:
    """The open cases of the grids that ``account`` does not hold yet."""
    c = tables["cases"]
    found = await conn.scalars(
        sa.select(c.c.case_id).where(
            c.c.grid_id.in_(list(grid_ids)),
            c.c.status.in_(_OPEN),
            sa.or_(c.c.account.is_(None), c.c.account != account),
        )
    )
    return list(found)


async def of_resident(
    conn: AsyncConnection, tables: Tables, resident: str, *, merges: sa.Table | None
) -> set[uuid.UUID]:
    """The cases a resident (by pseudonymous id) is a party to or concerned by, also through a
    record merged into them (``merges``: a copy of the registry's merges; None: none known)."""
    records = await merged_into(conn, merges, resident)
    parties, c = tables["parties"], tables["cases"]
    found = set(
        await conn.scalars(sa.select(parties.c.case_id).where(parties.c.resident.in_(records)))
    )
    # subjects are a JSON list of ids: its text holds each id in quotes
    named = [sa.cast(c.c.subjects, sa.Text).contains(f'"{r}"', autoescape=True) for r in records]
    found.update(await conn.scalars(sa.select(c.c.case_id).where(sa.or_(*named))))
    return found


async def parties(conn: AsyncConnection, tables: Tables, case_id: uuid.UUID) -> list[Row]:
    """A case's parties, by role."""
    p = tables["parties"]
    found = await conn.execute(sa.select(p).where(p.c.case_id == case_id).order_by(p.c.role))
    return list(found.all())


async def party(
    conn: AsyncConnection, tables: Tables, case_id: uuid.UUID, party_id: uuid.UUID
) -> Row | None:
    """One of a case's parties."""
    p = tables["parties"]
    query = sa.select(p).where(p.c.case_id == case_id, p.c.party_id == party_id)
    return (await conn.execute(query)).first()


async def outside_parties(
    conn: AsyncConnection, tables: Tables, case_id: uuid.UUID
) -> list[uuid.UUID]:
    """The case's parties from outside the register."""
    p = tables["parties"]
    query = sa.select(p.c.party_id).where(p.c.case_id == case_id, p.c.resident.is_(None))
    return list(await conn.scalars(query))


async def sessions(conn: AsyncConnection, tables: Tables, case_id: uuid.UUID) -> list[Row]:
    """A case's mediation sessions, in the order they were held."""
    s = tables["sessions"]
    found = await conn.execute(sa.select(s).where(s.c.case_id == case_id).order_by(s.c.held_at))
    return list(found.all())


async def texts_in_full(
    conn: AsyncConnection, store: EventStore, ring: KeyRing, case_id: uuid.UUID
) -> tuple[dict[str, Any], dict[uuid.UUID, dict[str, Any]]]:
    """The case's texts in full while its text key lives (the row keeps redacted copies): its
    title, description and resolution, and each session's place and summary; nothing once the
    key was erased."""
    key = await ring.key(conn, case_id)
    if key is None:
        return {}, {}
    full: dict[str, Any] = {}
    held: dict[uuid.UUID, dict[str, Any]] = {}
    for event in await store.read_stream(stream_id(case_id)):
        data = opened(key, event.data)
        if isinstance(data, CaseOpened):
            full |= {"title": data.title, "description": data.description}
        elif isinstance(data, CaseResolved):
            full["resolution"] = data.resolution
        elif isinstance(data, MediationSessionHeld):
            held[data.session_id] = {"place": data.place, "summary": data.summary}
    return full, held
