"""``/matters``: the lineage of a matter (一件事全链条), a 12345 ticket through the case it
became, its mediation, the reply, the 回访 rating and any reopening, in order, across services.

Staff read a matter of their places: one of its grids (where its ticket was routed, where its
case or need lies) in the caller's places, else 404 as for a matter that does not exist; a
matter no grid has taken yet (a ticket in triage, or routed to a grid the roster does not know
yet) is the whole deployment's, read by those whose places cover every subdistrict of it.
Analysts do not read matters here: they replay the pseudonymised topics, correlation ids and all.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from wangge.events.db import read_only
from wangge.governance.errors import DomainError, NotFound
from wangge.governance.roster import grid_code
from wangge.service.auth import Principal
from wangge.service.responses import problems
from wangge.views.api.access import Core, Staff, require_scope, roster_tables, view_tables
from wangge.views.api.params import single_valued
from wangge.views.projections.matters import (
    Lineage,
    Matters,
    lineage,
    matter_of_case,
    matter_of_ticket,
)
from wangge.views.projections.roster import placed

router = APIRouter(prefix="/matters", tags=["matters"], dependencies=[single_valued])

CorrelationId = Annotated[
    str,
    # an X-Correlation-Id header or an event id: no control character but a tab (a NUL would
    # reach PostgreSQL, which refuses it in text: a 500); as long as an upstream recorded it
    Path(
        pattern=r"^[^\x00-\x08\x0a-\x1f\x7f]+$",
        description="a matter's correlation id",
    ),
]

LABELS: dict[str, tuple[str, str]] = {
    "TicketReceived": ("受理", "ticket received from 12345"),
    "TicketRoutedToGrid": ("派单", "routed to a grid"),
    "TicketAwaitingTriage": ("待分拨", "held for triage"),
    "TicketLinkedAsDuplicate": ("重复件", "linked as a duplicate"),
    "TicketAccepted": ("签收", "ticket accepted"),
    "TicketReturned": ("退单", "ticket returned"),
    "TicketExtensionRequested": ("申请延期", "extension requested"),
    "TicketExtensionDecided": ("延期审批", "extension decided"),
    "TicketReminderRaised": ("催办", "reminder raised"),
    "TicketReplied": ("办结回复", "reply to the hotline"),
    "ReplyDelivered": ("回复送达", "reply delivered"),
    "ReplyDeliveryFailed": ("回复送达失败", "reply delivery failed"),
    "ReplyDeliveryRetried": ("重新送达", "reply delivery retried"),
    "TicketFollowedUp": ("回访", "follow-up rating"),
    "TicketReopened": ("重办", "ticket reopened"),
    "TicketClosed": ("结案", "ticket closed"),
    "RepeatedComplaintsNoticed": ("未诉先办预警", "repeated complaints noticed"),
    "CaseOpened": ("立案", "case opened"),
    "CaseAssigned": ("分派", "case assigned"),
    "CaseAccepted": ("接单", "case accepted"),
    "CaseProgressNoted": ("办理进展", "progress noted"),
    "CaseEscalated": ("上报", "case escalated"),
    "CaseReferred": ("转办", "case referred"),
    "CaseResolved": ("办结", "case resolved"),
    "CaseClosed": ("结案", "case closed"),
    "CaseReopened": ("重新办理", "case reopened"),
    "CaseFollowedUp": ("回访记录", "follow-up on the case"),
    "MediatorAppointed": ("指定调解员", "mediator appointed"),
    "MediationPartyJoined": ("当事人加入", "party joined"),
    "MediationSessionHeld": ("调解", "mediation session held"),
    "MediationAgreementSigned": ("签订调解协议", "mediation agreement signed"),
    "AgreementFollowedUp": ("协议履行回访", "agreement followed up"),
    "PartyErased": ("当事人信息删除", "party's data erased"),
    "NeedNoted": ("走访发现需求", "need noted on a visit"),
}
"""Each step's short label, Chinese and English."""


class StepRead(BaseModel):
    """One step of a matter: when, where and what, never who (an actor kind) or free text."""

    event_id: uuid.UUID
    at: datetime
    service: str
    type: str
    label_zh: str
    label_en: str
    stream_id: str
    version: int
    actor_kind: str | None
    ticket_id: uuid.UUID | None
    case_id: uuid.UUID | None
    need_id: uuid.UUID | None
    correlation_id: str
    causation_id: str | None
    cause_in_matter: bool
    """Whether the step's cause is one of the matter's steps (False: a person's step, a cause
    outside the views' topics, or one not arrived yet)."""


class MatterRead(BaseModel):
    """A matter's correlation id, what it concerns and its steps in order."""

    correlation_id: str
    ticket_ids: list[uuid.UUID]
    case_ids: list[uuid.UUID]
    steps: list[StepRead]


class MatterQuery(DomainError):
    """``/matters`` asked for neither or both of a ticket and a case."""

    slug = "matter-query"
    title = "Name one ticket or one case"


def _read(matter: Lineage) -> MatterRead:
    ids = {str(s.event_id) for s in matter.steps}
    steps = [
        StepRead(
            event_id=s.event_id, at=s.at, service=s.service, type=s.type,
            label_zh=LABELS.get(s.type, (s.type, s.type))[0],
            label_en=LABELS.get(s.type, (s.type, s.type))[1],
            stream_id=s.stream_id, version=s.version, actor_kind=s.actor_kind,
            ticket_id=s.ticket_id, case_id=s.case_id, need_id=s.need_id,
            correlation_id=s.correlation_id, causation_id=s.causation_id,
            cause_in_matter=s.causation_id in ids,
        )
        for s in matter.steps
    ]  # fmt: skip
    return MatterRead(
        correlation_id=matter.correlation_id,
        ticket_ids=list(dict.fromkeys(s.ticket_id for s in matter.steps if s.ticket_id)),
        case_ids=list(dict.fromkeys(s.case_id for s in matter.steps if s.case_id)),
        steps=steps,
    )


async def matter_read(
    core: Core, principal: Principal, correlation_id: str | None, field: str
) -> MatterRead:
    """A matter's steps as ``principal`` may read them (404 outside their places; ``field``
    names the input the 404 is about)."""
    unknown = NotFound(f"no matter {correlation_id}", field=field)
    if correlation_id is None:
        raise unknown
    async with read_only(core.store.engine) as conn:
        tables = await view_tables(conn, core, Matters.name)
        matter = await lineage(conn, tables, correlation_id)
        if matter is None:
            raise unknown
        roster = await roster_tables(conn, core)
        codes = [await grid_code(conn, roster, g) for g in {s.grid_id for s in matter.steps} if g]
        places = {s.place_id for s in matter.steps if s.place_id is not None}
        codes += [p.grid_code for p in (await placed(conn, roster, places)).values()]
        await require_scope(conn, roster, principal, codes, f"matter {correlation_id}", field)
    return _read(matter)


@router.get("/{correlation_id}", response_model=MatterRead)
async def matter(correlation_id: CorrelationId, principal: Staff, core: Core) -> MatterRead:
    """A matter's steps in order, by its correlation id (that of a case opened from a need
    names the need's matter, which answers with the need's)."""
    return await matter_read(core, principal, correlation_id, "correlation_id")


# 404: no matter of that ticket or case (the kit documents a 404 only with a path parameter)
@router.get("", response_model=MatterRead, responses=problems(NotFound))
async def matter_of(
    principal: Staff,
    core: Core,
    ticket_id: Annotated[uuid.UUID | None, Query()] = None,
    case_id: Annotated[uuid.UUID | None, Query()] = None,
) -> MatterRead:
    """The matter of a ticket or of a case (``?ticket_id=`` or ``?case_id=``), for a caller who
    knows only one of them: its correlation id and its steps."""
    if (ticket_id is None) == (case_id is None):
        raise MatterQuery("name one of ticket_id and case_id", field="query/ticket_id")
    async with read_only(core.store.engine) as conn:
        tables = await view_tables(conn, core, Matters.name)
        if ticket_id is not None:
            found = await matter_of_ticket(conn, tables, ticket_id)
        else:
            assert case_id is not None
            found = await matter_of_case(conn, tables, case_id)
    field = "query/ticket_id" if ticket_id is not None else "query/case_id"
    if found is None:
        asked = f"ticket {ticket_id}" if ticket_id is not None else f"case {case_id}"
        raise NotFound(f"no matter of {asked}", field=field)
    return await matter_read(core, principal, found, field)
