"""The ``standard`` wire format: the JSON ticket this project documents (see the README).

Field names follow the hotline's usual work-order sheet. Unknown fields are ignored, so a
platform that adds a field does not stop its tickets; a missing or malformed one is a 422 that
names it as the hotline sent it (``body/caller/phone``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from wangge.governance.personal import PHONE_SCHEMA
from wangge.hotline_bridge.domain.tickets import (
    Channel,
    ExtensionDecision,
    FollowUp,
    Intake,
    Location,
    ReplyOut,
    Satisfaction,
    Urgency,
)

M = TypeVar("M", bound=BaseModel)


class Caller(BaseModel):
    """Who called (sensitive: sealed before it is stored)."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, max_length=30, json_schema_extra=PHONE_SCHEMA)


class StandardTicket(BaseModel):
    """A 12345 ticket as the hotline pushes it."""

    model_config = ConfigDict(extra="ignore")

    ticket_number: str = Field(
        min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$",
        description="the hotline's work-order number (工单编号)",
    )  # fmt: skip
    channel: Channel = Channel.PHONE
    received_at: AwareDatetime = Field(description="when the hotline received the call")
    caller: Caller | None = None
    category_code: str = Field(
        min_length=1, max_length=20, description="a code of the dispatch catalogue"
    )
    content: str = Field(min_length=1, max_length=4000, description="what the caller asked for")
    address: str = Field(min_length=1, max_length=200)
    location: Location | None = None
    urgency: Urgency = Urgency.NORMAL
    deadline: AwareDatetime | None = Field(
        default=None, description="the hotline's deadline; default: the catalogue's"
    )


class StandardFollowUp(BaseModel):
    """The result of the hotline's follow-up call (回访) on a replied ticket."""

    model_config = ConfigDict(extra="ignore")

    ticket_number: str = Field(min_length=1, max_length=40)
    satisfaction: Satisfaction = Field(description="the caller's rating (满意度)")
    resolved: bool = Field(description="whether the caller says the problem was solved")
    note: str | None = Field(default=None, max_length=1000)


class StandardExtensionDecision(BaseModel):
    """The hotline's answer to an extension request (延期审批)."""

    model_config = ConfigDict(extra="ignore")

    ticket_number: str = Field(min_length=1, max_length=40)
    approved: bool
    deadline: AwareDatetime | None = Field(
        default=None, description="the approved deadline; default: the one requested"
    )
    note: str | None = Field(default=None, max_length=1000)


class StandardReply(BaseModel):
    """A reply the bridge delivers to the hotline's callback (办结回复)."""

    ticket_number: str
    reply: str = Field(description="the answer for the caller")
    solved: bool = Field(description="the problem was solved, not only answered")
    at_source: bool = Field(description="solved by the grid itself (就地解决)")
    replied_at: AwareDatetime
    delivery_id: str = Field(description="also the Idempotency-Key header: the same on retries")


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in error.errors(include_url=False)]
        ) from None


@dataclass(frozen=True)
class StandardAdapter:
    """Reads :class:`StandardTicket` pushes."""

    name: str = "standard"
    model: type[BaseModel] = StandardTicket

    def read(self, body: bytes) -> Intake:
        ticket = _parse(StandardTicket, body)
        # the push as parsed, not its bytes: the same ticket re-serialised is the same push
        canonical = ticket.model_dump_json(exclude_none=True).encode()
        caller = ticket.caller or Caller()
        return Intake(
            ticket_number=ticket.ticket_number,
            channel=ticket.channel,
            received_at=ticket.received_at,
            category_code=ticket.category_code,
            content=ticket.content,
            address=ticket.address,
            urgency=ticket.urgency,
            fingerprint=hashlib.sha256(canonical).hexdigest(),
            caller_name=(caller.name or "").strip() or None,
            caller_phone=(caller.phone or "").strip() or None,
            location=ticket.location,
            deadline=ticket.deadline,
        )

    def read_follow_up(self, body: bytes) -> FollowUp:
        pushed = _parse(StandardFollowUp, body)
        return FollowUp(pushed.ticket_number, pushed.satisfaction, pushed.resolved, pushed.note)

    def write_reply(self, reply: ReplyOut) -> bytes:
        return StandardReply(
            ticket_number=reply.ticket_number, reply=reply.reply, solved=reply.solved,
            at_source=reply.at_source, replied_at=reply.replied_at,
            delivery_id=str(reply.delivery_id),
        ).model_dump_json().encode()  # fmt: skip

    def read_extension_decision(self, body: bytes) -> ExtensionDecision:
        pushed = _parse(StandardExtensionDecision, body)
        return ExtensionDecision(
            pushed.ticket_number, pushed.approved, pushed.deadline, pushed.note
        )


ADAPTER = StandardAdapter()
