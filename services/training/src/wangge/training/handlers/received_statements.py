"""Receiving xAPI statements from learning record providers: check each against the
specification's MUST rules, give it the id, timestamp and version the LRS gives, seal it with
its actor's key, and append the whole batch in one transaction (all or nothing, as the
specification asks of a batch). Also the erasure of an outside actor's statements."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from wangge.events import DomainEvent
from wangge.events.command import CommandRunner, UnitOfWork, load
from wangge.events.errors import ConcurrencyConflict
from wangge.events.sealed import Sealed
from wangge.events.store import NO_STREAM, StreamAppend
from wangge.governance.erasure import ErasureGround
from wangge.training.bootstrap import TrainingCore
from wangge.training.domain import received_statements as r
from wangge.training.domain import xapi_rules
from wangge.training.domain.xapi_rules import VOIDED, InvalidStatement
from wangge.training.handlers import reading
from wangge.training.personal_data import sealer
from wangge.training.projections.statements_queries import (
    derived_statement,
    statements_by_id,
    statements_tables,
)


def actor_id(core: TrainingCore, actor: dict[str, Any]) -> uuid.UUID:
    """The actor's pseudonymous id: a worker's own id when the actor is the worker's account
    here (the statements derived from the record name them so), else a keyed hash."""
    account = actor.get("account")
    if isinstance(account, dict) and account.get("homePage") == core.settings.xapi_home_page:
        try:
            return uuid.UUID(str(account.get("name")))
        except ValueError:
            pass
    return core.pseudonyms.subject(r.identifier(actor))


def _prepared(statement: Any, path: str, now: datetime) -> dict[str, Any]:
    """The statement checked, with what the LRS sets when the provider did not."""
    found = copy.deepcopy(xapi_rules.check(statement, path))
    found.pop("stored", None)  # the LRS's own, as the authority is
    found.pop("authority", None)
    found.setdefault("id", str(uuid.uuid4()))
    found["id"] = str(uuid.UUID(found["id"]))
    moment = found.get("timestamp")
    found["timestamp"] = (
        now if moment is None else xapi_rules.timestamp(moment, f"{path}/timestamp")
    ).isoformat()
    found.setdefault("version", "1.0.0")
    for where, iri in (("verb/id", found["verb"]["id"]), ("object/id", found["object"].get("id"))):
        if isinstance(iri, str) and len(iri) > r.MAX_IRI:
            raise InvalidStatement(
                f"{where}: this LRS takes IRIs of up to {r.MAX_IRI} characters",
                field=f"{path}/{where}",
            )
    return found


async def receive(
    commands: CommandRunner,
    core: TrainingCore,
    statements: Sequence[Any],
    *,
    authority: str,
    single: bool = False,
    statement_id: uuid.UUID | None = None,
    retried: bool = False,
) -> list[uuid.UUID]:
    """Store the statements; their ids, in order. ``single``: the body was one statement, not
    a list (the fields at fault are named without an index); ``statement_id``: the id a PUT
    names, which the statement's own id, if any, must be."""
    now = datetime.now(UTC)
    prepared: list[dict[str, Any]] = []
    for n, statement in enumerate(statements):
        path = "body" if single else f"body/{n}"
        if statement_id is not None and isinstance(statement, dict):
            given = statement.get("id")
            if given is not None and str(given).lower() != str(statement_id):
                raise InvalidStatement(
                    "the statement's id is not the statementId the request names",
                    field=f"{path}/id",
                )
            statement = {**statement, "id": str(statement_id)} if given is None else statement
        prepared.append(_prepared(statement, path, now))
    ids = [uuid.UUID(s["id"]) for s in prepared]
    if len(set(ids)) != len(ids):
        raise InvalidStatement("a batch names each statement id once", field="body")
    if not prepared:
        return []
    digests = [core.pseudonyms.digest(r.comparable(s)) for s in prepared]
    targets = {uuid.UUID(s["object"]["id"]) for s in prepared if s["verb"]["id"] == VOIDED}
    async with reading(commands) as conn:
        tables = await statements_tables(conn, core)
        held = await statements_by_id(conn, tables, set(ids) | targets)
    home = core.settings.xapi_home_page
    batch = {i: s for i, s in zip(ids, prepared, strict=True)}
    for n, statement in enumerate(prepared):
        path = "body" if single else f"body/{n}"
        if statement["verb"]["id"] != VOIDED:
            continue
        target = uuid.UUID(statement["object"]["id"])
        row = held.get(target)
        verb = row.verb if row is not None else batch.get(target, {}).get("verb", {}).get("id")
        if verb == VOIDED:
            raise InvalidStatement("a voiding statement cannot be voided",
                                   field=f"{path}/object/id")  # fmt: skip
        if row is not None and row.sealed is None:
            raise InvalidStatement(
                "statements this service derives from the training record are voided by it "
                "alone", field=f"{path}/object/id",
            )  # fmt: skip
    appends: list[StreamAppend] = []
    for n, (statement, digest) in enumerate(zip(prepared, digests, strict=True)):
        statement_key = uuid.UUID(statement["id"])
        row = held.get(statement_key)
        known: r.Received | None = None
        if row is not None:
            stored_digest = row.digest
            if stored_digest is None:  # a derived statement: compared as it is served
                body = derived_statement(row, home)
                stored_digest = core.pseudonyms.digest(r.comparable(body))
            known = r.Received(statement_key, stored_digest)
        subject = actor_id(core, statement["actor"])
        path = "body" if single else f"body/{n}"
        events: list[DomainEvent] = r.receive(
            known, statement, actor_id=subject, authority=authority, digest=digest,
            seal=(
                _refusing if known is not None
                else await sealer(commands.store.engine, core.keyring, subject,
                                  field=f"{path}/actor")
            ),
        )  # fmt: skip
        if events:
            appends.append(StreamAppend(r.stream_id(statement_key), events, NO_STREAM))
    if appends:
        try:
            async with commands.unit() as unit:
                await unit.append_batch(appends)
        except ConcurrencyConflict:
            if retried:
                raise
            # another request stored one of these ids meanwhile: decided again, a statement
            # sent twice at once is the same statement (nothing to add), other content a 409
            return await receive(
                commands, core, statements, authority=authority, single=single,
                statement_id=statement_id, retried=True,
            )  # fmt: skip
    return ids


def _refusing(block: Mapping[str, Any]) -> Sealed:
    raise AssertionError("a statement held already is never sealed again")  # pragma: no cover


class ActorErasure(BaseModel):
    """Whose received statements to make unreadable, and why (PIPL article 47)."""

    agent: dict[str, Any] = Field(
        description='the actor as statements name them, e.g. {"mbox": "mailto:…"}'
    )
    legal_ground: ErasureGround


async def erase_actor(
    commands: CommandRunner, core: TrainingCore, cmd: ActorErasure
) -> r.XapiActorErased:
    """Destroy the key that seals an outside actor's statements and record the erasure, in one
    transaction; asked again, the first erasure. A worker's account is erased as the worker."""
    xapi_rules.actor(cmd.agent, "body/agent")
    subject = actor_id(core, cmd.agent)
    if subject != core.pseudonyms.subject(r.identifier(cmd.agent)):
        raise InvalidStatement(
            "a worker's account: erase the worker (DELETE /workers/{id}/personal-data)",
            field="body/agent",
        )
    stream = r.actor_stream_id(subject)
    loaded = await load(commands.store, stream, r.evolve_erasure)
    decided = r.erase_actor(loaded.state, actor_id=subject, legal_ground=cmd.legal_ground)
    if decided:

        async def shred(unit: UnitOfWork) -> None:
            await core.keyring.destroy(unit.conn, subject)

        await commands.create(cmd, stream, lambda: decided, also=shred)
        loaded = await load(commands.store, stream, r.evolve_erasure)
    assert loaded.state is not None
    return loaded.state
