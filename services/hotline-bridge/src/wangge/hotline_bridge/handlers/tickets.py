"""Commands on a ticket after intake: staff's (routing by hand, acceptance 签收, return 退单,
extension 延期, reply 办结, a dead-lettered reply sent again), the hotline's answers (extension
decisions, follow-ups 回访) and the background jobs' (delivery outcomes, reminders 催办, triage
retried). Each loads the ticket, lets the domain decide and appends at the version it loaded,
so two steps racing on one ticket (a reply and a return, say) cannot both pass the same check:
the second is a 409 and sees the first.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from pydantic import AwareDatetime, BaseModel, Field

from wangge.events import DomainEvent
from wangge.events.command import NO_BODY, CommandRunner, load
from wangge.events.db import read_only
from wangge.events.projection import active_tables
from wangge.events.sealing import KeyRing, Seal
from wangge.events.store import AppendResult
from wangge.governance.errors import Conflict, NotFound
from wangge.hotline_bridge.domain import tickets
from wangge.hotline_bridge.domain.catalogue import DispatchCatalogue
from wangge.hotline_bridge.domain.routing import Match, RoutingMethod
from wangge.hotline_bridge.personal_data import CallerKeys
from wangge.hotline_bridge.reactions import FromCases, case_of

Decision = Callable[[tickets.Ticket, int], Sequence[DomainEvent]]
"""What a step decides from the ticket and its version (nothing: the step changes nothing)."""


class RouteByHand(BaseModel):
    """Staff's choice of grid for a ticket in triage."""

    grid_id: uuid.UUID


class Return(BaseModel):
    """Why the ticket goes back to the hotline (退单)."""

    reason: str = Field(min_length=1, max_length=500)


class ExtensionRequest(BaseModel):
    """More time, asked for before the deadline (延期申请)."""

    until: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)


class Reply(BaseModel):
    """The grid's answer, for the hotline to give the caller (办结回复)."""

    reply: str = Field(min_length=1, max_length=4000)
    solved: bool = Field(description="the problem was solved, not only answered")
    at_source: bool = Field(
        default=True, description="solved by the grid itself (就地解决), without a department"
    )


async def _staff_step(
    commands: CommandRunner, ticket_id: uuid.UUID, decide: Decision, body: BaseModel = NO_BODY
) -> AppendResult | None:
    """A staff step: a retry with the same idempotency key answers as the first, an expected
    version other than the ticket's is a 409, an unknown ticket a 404 naming ``ticket_id``."""
    loaded = await commands.load(tickets.stream_id(ticket_id), tickets.evolve, field="ticket_id")
    return await commands.change(body, loaded, lambda ticket: decide(ticket, loaded.version))


async def _step(
    commands: CommandRunner, ticket_id: uuid.UUID, decide: Decision
) -> AppendResult | None:
    """A step the hotline or a background job takes (no idempotency key, no expected version:
    the append still expects the version loaded). None: the decision changed nothing."""
    loaded = await load(commands.store, tickets.stream_id(ticket_id), tickets.evolve)
    if loaded.state is None:
        raise NotFound(f"no ticket {ticket_id}", field="ticket_id")
    return await commands.change(NO_BODY, loaded, lambda ticket: decide(ticket, loaded.version))


async def sealer(commands: CommandRunner, keys: CallerKeys, ticket_id: uuid.UUID) -> Seal | None:
    """What seals a step's free texts with the ticket's data key (None once the caller was
    erased: a new text is then kept as its redacted copy alone)."""
    async with read_only(commands.store.engine) as conn:
        key = await keys.key(conn, ticket_id)
    return KeyRing.sealer(key, ticket_id) if key is not None else None


async def _sealed_staff_step(
    commands: CommandRunner,
    keys: CallerKeys,
    ticket_id: uuid.UUID,
    decide: Callable[[tickets.Ticket, int, Seal | None], Sequence[DomainEvent]],
    body: BaseModel,
) -> None:
    """A staff step with free texts, sealed with the ticket's data key (see :func:`sealer`)."""
    seal = await sealer(commands, keys, ticket_id)
    await _staff_step(commands, ticket_id, lambda t, version: decide(t, version, seal), body)


# -- staff ----------------------------------------------------------------------------------------


class WorkedAsCase(Conflict):
    """The ticket is worked as a case in the cases service: its steps are the case's."""

    slug = "ticket-has-case"
    title = "The ticket is worked as a case"


async def _not_a_case(commands: CommandRunner, ticket_id: uuid.UUID) -> None:
    """Refuse the grid's steps on a ticket a case works: the case's acceptance and resolution
    accept and answer the ticket (``reactions``), and a ticket answered here left its case open
    in the worker's inbox for ever. One place of work, the case; no step mirrored both ways."""
    reaction = commands.projection(FromCases.name)
    async with read_only(commands.store.engine) as conn:
        try:
            tables = await active_tables(conn, reaction)
        except LookupError:
            return  # no case has arrived yet
        case_id = await case_of(conn, tables, ticket_id)
    if case_id is not None:
        raise WorkedAsCase(
            f"ticket {ticket_id} is worked as case {case_id}: accept, extend and resolve it "
            "in the cases service",
            field="ticket_id",
        )


async def route_by_hand(
    commands: CommandRunner, ticket_id: uuid.UUID, cmd: RouteByHand, *, grid_code: str
) -> None:
    """Send a ticket in triage to the grid coded ``grid_code`` (routing method ``manual``)."""
    match = Match(RoutingMethod.MANUAL, cmd.grid_id, None, f"routed by hand to grid {grid_code}")
    await _staff_step(commands, ticket_id, lambda t, _: tickets.route(t, match), cmd)


async def return_ticket(
    commands: CommandRunner, keys: CallerKeys, ticket_id: uuid.UUID, cmd: Return
) -> None:
    """Give the ticket back to the hotline before acceptance (退单), the reason sealed."""
    await _not_a_case(commands, ticket_id)
    await _sealed_staff_step(
        commands, keys, ticket_id,
        lambda t, _, seal: tickets.give_back(t, cmd.reason, by="staff", seal=seal), cmd,
    )  # fmt: skip


async def accept(commands: CommandRunner, ticket_id: uuid.UUID) -> None:
    """The grid signs for the ticket (签收)."""
    await _not_a_case(commands, ticket_id)
    await _staff_step(commands, ticket_id, lambda t, _: tickets.accept(t))


async def request_extension(
    commands: CommandRunner, keys: CallerKeys, ticket_id: uuid.UUID, cmd: ExtensionRequest
) -> None:
    """Ask the hotline for more time (延期), before the deadline."""
    await _not_a_case(commands, ticket_id)
    now = datetime.now(UTC)
    await _sealed_staff_step(
        commands, keys, ticket_id,
        lambda t, _, seal: tickets.request_extension(
            t, until=cmd.until, reason=cmd.reason, now=now, seal=seal
        ),
        cmd,
    )  # fmt: skip


async def reply(
    commands: CommandRunner, keys: CallerKeys, ticket_id: uuid.UUID, cmd: Reply
) -> None:
    """The grid's answer (办结), sealed; the delivery job hands it to the hotline."""
    await _not_a_case(commands, ticket_id)
    await _sealed_staff_step(
        commands, keys, ticket_id,
        lambda t, version, seal: tickets.reply(
            t, text=cmd.reply, solved=cmd.solved, at_source=cmd.at_source, version=version,
            seal=seal,
        ),
        cmd,
    )  # fmt: skip


async def retry_delivery(commands: CommandRunner, ticket_id: uuid.UUID) -> None:
    """Send a dead-lettered reply on its way again (same idempotency key)."""
    await _staff_step(commands, ticket_id, lambda t, _: tickets.retry_delivery(t))


# -- the hotline's answers ------------------------------------------------------------------------


async def follow_up(
    commands: CommandRunner,
    keys: CallerKeys,
    catalogue: DispatchCatalogue,
    result: tickets.FollowUp,
) -> uuid.UUID:
    """Record the hotline's follow-up call (回访): satisfied and resolved closes the ticket;
    otherwise it goes back to the grid (重办) due by its category's time limit from now.
    Returns the ticket's id."""
    ticket_id = tickets.ticket_id(result.ticket_number)
    seal = await sealer(commands, keys, ticket_id)

    def decide(ticket: tickets.Ticket, _: int) -> list[DomainEvent]:
        category = catalogue.get(ticket.category)
        now = datetime.now(UTC)
        redo = category.time_limit.deadline(now) if category is not None else ticket.deadline
        return tickets.follow_up(
            ticket, satisfaction=result.satisfaction, resolved=result.resolved,
            note=result.note, redo_deadline=redo, seal=seal,
        )  # fmt: skip

    await _step(commands, ticket_id, decide)
    return ticket_id


async def decide_extension(
    commands: CommandRunner, keys: CallerKeys, decision: tickets.ExtensionDecision
) -> uuid.UUID:
    """Record the hotline's approval or refusal of an extension request; returns the ticket's
    id."""
    ticket_id = tickets.ticket_id(decision.ticket_number)
    seal = await sealer(commands, keys, ticket_id)
    await _step(
        commands, ticket_id,
        lambda t, _: tickets.decide_extension(
            t, approved=decision.approved, deadline=decision.deadline, note=decision.note,
            seal=seal,
        ),
    )  # fmt: skip
    return ticket_id


# -- the background jobs --------------------------------------------------------------------------


async def record_delivery(
    commands: CommandRunner,
    ticket_id: uuid.UUID,
    *,
    attempt: int,
    error: str | None,
    next_attempt_at: datetime | None,
) -> None:
    """An attempt to deliver the ticket's reply: taken (``error`` None), or failed and tried
    again at ``next_attempt_at`` (None: dead-lettered)."""

    def decide(ticket: tickets.Ticket, _: int) -> list[DomainEvent]:
        if error is None:
            return tickets.delivered(ticket, attempt=attempt)
        return tickets.delivery_failed(
            ticket, attempt=attempt, error=error, next_attempt_at=next_attempt_at
        )

    await _step(commands, ticket_id, decide)


async def remind(
    commands: CommandRunner, ticket_id: uuid.UUID, *, now: datetime, due_soon: timedelta
) -> bool:
    """Raise the reminder (催办) a ticket near or past its deadline is owed; whether one was."""
    done = await _step(
        commands, ticket_id, lambda t, _: tickets.remind(t, now=now, due_soon=due_soon)
    )
    return done is not None


async def route_found(commands: CommandRunner, ticket_id: uuid.UUID, match: Match) -> None:
    """Route a ticket waiting in triage to the grid the grid map now finds for it."""
    await _step(commands, ticket_id, lambda t, _: tickets.dispatch(t, match))
