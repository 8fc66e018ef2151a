"""Statements received from learning record providers (a course platform, a quiz app), kept as
the Learning Record Store of xAPI 1.0.3 keeps them: immutable, voided only by another statement.

A received statement is a stream of its own (``statement-<uuid>``, its id), one event long:
``XapiStatementReceived``. A statement that voids another is received like any other, naming
the statement it voids. Sending a statement again with the same content changes nothing;
another content under the same id is a conflict (409), as the specification says.

An actor's name and identifier (an e-mail address, an OpenID, an account) are personal data:
the event keeps the whole statement sealed with the actor's key (a grid worker's own, when the
actor is the worker's account here), and in clear only what a reader filters by, none of it
naming anyone: the verb, the object's id when it is an activity or a statement, the actor's
pseudonymous id, the registration, the times. An actor from outside the roster is erased by
destroying that key (``XapiActorErased``, stream ``xapi_actor-<their pseudonymous id>``); a
worker's statements go with the worker's own erasure.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import AwareDatetime, Field

from wangge.events import DomainEvent, default_catalogue
from wangge.events.sealed import Seal, Sealed
from wangge.governance.erasure import ErasureGround
from wangge.governance.errors import Conflict
from wangge.training.domain.sessions import SERVICE
from wangge.training.domain.xapi_rules import VOIDED

MAX_IRI = 500
"""The longest verb or activity IRI taken (the read model's filter columns)."""

NOT_COMPARED = ("id", "authority", "stored", "timestamp", "version", "attachments")
"""What two statements with one id may differ in and still be the same (xAPI 1.0.3, statement
comparison)."""


class StatementConflict(Conflict):
    """A statement id this LRS holds with other content."""

    slug = "xapi-statement-conflict"
    title = "Another statement has this id"


def stream_id(statement_id: uuid.UUID) -> str:
    """The stream of a received statement."""
    return f"statement-{statement_id}"


@default_catalogue.event(SERVICE)
class XapiStatementReceived(DomainEvent):
    """A learning record provider sent an xAPI statement, and the LRS stored it."""

    statement_id: uuid.UUID
    actor_id: uuid.UUID = Field(
        description="pseudonymous: a worker's id (their account here), or a keyed hash of the "
        "actor's identifier"
    )
    verb: str = Field(max_length=MAX_IRI, description="the verb's IRI")
    object_type: str = Field(max_length=20)
    activity: str | None = Field(
        default=None,
        max_length=MAX_IRI,
        description="the object's id when it is an Activity or a StatementRef",
    )
    registration: uuid.UUID | None = None
    timestamp: AwareDatetime
    voids: uuid.UUID | None = Field(default=None, description="the statement this one voids")
    authority: str = Field(
        max_length=200, description="the client or staff account that sent it (the authority)"
    )
    digest: str = Field(max_length=64, description="keyed hash of the compared content")
    sealed: Sealed = Field(description="the statement as received, with the actor's key")


@dataclass(frozen=True)
class Received:
    """A statement held: what tells a statement sent again from another one."""

    statement_id: uuid.UUID
    digest: str


def evolve(state: Received | None, event: DomainEvent, version: int) -> Received:
    if isinstance(event, XapiStatementReceived):
        return Received(event.statement_id, event.digest)
    raise ValueError(f"a received statement has no {event!r}")


def comparable(statement: Mapping[str, Any]) -> bytes:
    """The content two statements with one id must share (group members in any order)."""

    def ordered(value: Any) -> Any:
        if isinstance(value, dict):
            found = {k: ordered(v) for k, v in value.items()}
            if found.get("objectType") == "Group" and isinstance(found.get("member"), list):
                found["member"] = sorted(found["member"], key=_text)
            return found
        if isinstance(value, list):
            return [ordered(v) for v in value]
        return value

    kept = {k: v for k, v in statement.items() if k not in NOT_COMPARED}
    return json.dumps(ordered(kept), sort_keys=True, separators=(",", ":")).encode()


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def identifier(actor: Mapping[str, Any]) -> str:
    """What names an actor, as one string: its one IFI, or an anonymous group's members'."""
    for key in ("mbox", "mbox_sha1sum", "openid"):
        if key in actor:
            return f"{key}:{actor[key]}"
    if "account" in actor:
        account = actor["account"]
        return f"account:{account['homePage']}\x1f{account['name']}"
    members = sorted(identifier(m) for m in actor.get("member", []))
    return "group:" + "\x1e".join(members)


def receive(
    held: Received | None,
    statement: Mapping[str, Any],
    *,
    actor_id: uuid.UUID,
    authority: str,
    digest: str,
    seal: Seal,
) -> list[DomainEvent]:
    """The statement (checked, its id, timestamp and version set) as received; nothing when
    the same content is held under its id, a :class:`StatementConflict` when other content is.
    """
    statement_id = uuid.UUID(statement["id"])
    if held is not None:
        if held.digest != digest:
            raise StatementConflict(
                f"statement {statement_id} is held with other content", field="body/id"
            )
        return []
    target = statement["object"]
    kind = target.get("objectType", "Activity")
    context = statement.get("context", {})
    return [
        XapiStatementReceived(
            statement_id=statement_id,
            actor_id=actor_id,
            verb=statement["verb"]["id"],
            object_type=kind,
            activity=target["id"] if kind in ("Activity", "StatementRef") else None,
            registration=context.get("registration"),
            timestamp=statement["timestamp"],
            voids=target["id"] if statement["verb"]["id"] == VOIDED else None,
            authority=authority,
            digest=digest,
            sealed=seal(dict(statement)),
        )
    ]


def actor_stream_id(actor_id: uuid.UUID) -> str:
    """The stream of an outside actor's erasure."""
    return f"xapi_actor-{actor_id}"


@default_catalogue.event(SERVICE)
class XapiActorErased(DomainEvent):
    """The key of an actor from outside the roster was destroyed (PIPL article 47): their
    received statements keep only the clear part (verb, object id, times, pseudonymous id)."""

    actor_id: uuid.UUID
    legal_ground: ErasureGround


def evolve_erasure(
    state: XapiActorErased | None, event: DomainEvent, version: int
) -> XapiActorErased:
    if not isinstance(event, XapiActorErased):
        raise ValueError(f"an actor's erasure has no {event!r}")
    return state or event


def erase_actor(
    erased: XapiActorErased | None, *, actor_id: uuid.UUID, legal_ground: ErasureGround
) -> list[DomainEvent]:
    """The erasure, once (asked again, the first one stands)."""
    if erased is not None:
        return []
    return [XapiActorErased(actor_id=actor_id, legal_ground=legal_ground)]
