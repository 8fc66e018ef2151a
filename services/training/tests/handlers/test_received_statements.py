"""Statements received from learning record providers, below HTTP: stored as events whose clear
part names nobody, in the statements read model when the command returns, sent again without
effect, voided by a received voiding statement, and unreadable once their actor is erased."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wangge.events import Metadata
from wangge.events.command import CommandRunner
from wangge.events.db import read_only
from wangge.governance.erasure import Erasure, ErasureGround
from wangge.training.bootstrap import TrainingCore
from wangge.training.domain import received_statements as r
from wangge.training.domain import sessions as s
from wangge.training.domain.xapi_rules import VOIDED, InvalidStatement
from wangge.training.handlers import erasure, sessions
from wangge.training.handlers.received_statements import ActorErasure, erase_actor, receive
from wangge.training.personal_data import PersonalDataErased
from wangge.training.projections.statements_queries import (
    received_statement,
    statement,
    statements_page,
    statements_tables,
)

ADL = "http://adlnet.gov/expapi/verbs/"
COURSE = "https://learn.example.org/courses/mediation"
Appoint = Callable[[], Awaitable[uuid.UUID]]


def _provider(core: TrainingCore) -> CommandRunner:
    return core.commands(Metadata(actor="xapi-client:xc_platform"))


def _completed(actor: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": actor or {"name": "王芳", "mbox": "mailto:wangfang@example.org"},
        "verb": {"id": ADL + "completed", "display": {"zh-CN": "完成"}},
        "object": {"id": COURSE},
        **more,
    }


def _voiding(target: str) -> dict[str, Any]:
    return {
        "actor": {"mbox": "mailto:admin@example.org"},
        "verb": {"id": VOIDED},
        "object": {"objectType": "StatementRef", "id": target},
    }


async def _send(core: TrainingCore, *statements: dict[str, Any]) -> list[uuid.UUID]:
    return await receive(_provider(core), core, list(statements), authority="xc_platform")


async def _row(core: TrainingCore, statement_id: uuid.UUID) -> Any:
    async with read_only(core.store.engine) as conn:
        return await statement(conn, await statements_tables(conn, core), statement_id)


async def _served(core: TrainingCore, statement_id: uuid.UUID) -> dict[str, Any]:
    row = await _row(core, statement_id)
    async with read_only(core.store.engine) as conn:
        key = await core.keyring.key(conn, row.actor_id)
    return received_statement(row, core.settings.xapi_home_page, key)


async def test_a_received_statement_is_served_as_sent_with_the_lrss_stored_and_authority(
    core: TrainingCore,
) -> None:
    sent = _completed(result={"completion": True})
    [statement_id] = await _send(core, sent)
    assert str(statement_id) == sent["id"]
    served = await _served(core, statement_id)
    assert served["actor"] == sent["actor"]
    assert served["result"] == {"completion": True}
    assert served["version"] == "1.0.0"
    assert served["authority"]["account"]["name"] == "xc_platform"
    assert datetime.fromisoformat(served["stored"]) > datetime.now(UTC) - timedelta(minutes=1)


async def test_the_event_names_its_actor_only_sealed_and_by_a_keyed_pseudonym(
    core: TrainingCore,
) -> None:
    [statement_id] = await _send(core, _completed(context={"registration": str(uuid.uuid4())}))
    [event] = await core.store.read_stream(r.stream_id(statement_id))
    assert isinstance(event.data, r.XapiStatementReceived)
    clear = json.dumps(event.data.model_dump(mode="json"), ensure_ascii=False)
    assert "wangfang" not in clear and "王芳" not in clear
    assert event.data.actor_id == core.pseudonyms.subject("mbox:mailto:wangfang@example.org")
    assert event.data.actor_id != uuid.uuid5(uuid.NAMESPACE_URL, "mailto:wangfang@example.org")
    assert event.data.activity == COURSE and event.data.registration is not None


async def test_the_same_statement_sent_again_is_stored_once_and_other_content_is_a_conflict(
    core: TrainingCore,
) -> None:
    sent = _completed(timestamp="2026-05-01T09:30:00+08:00")
    [first] = await _send(core, sent)
    # what may differ (the timestamp, the version, the authority) does not make it another
    again = {**sent, "timestamp": "2026-05-01T01:30:00Z", "version": "1.0.3"}
    assert await _send(core, again) == [first]
    assert len(await core.store.read_stream(r.stream_id(first))) == 1
    with pytest.raises(r.StatementConflict) as conflict:
        await _send(core, {**sent, "result": {"success": False}})
    assert conflict.value.status == 409


async def test_a_batch_is_stored_whole_or_not_at_all(core: TrainingCore) -> None:
    good = _completed()
    with pytest.raises(InvalidStatement) as refused:
        await _send(core, good, {**_completed(), "verb": {"id": "completed"}})
    assert refused.value.field == "body/1/verb/id"
    assert await _row(core, uuid.UUID(good["id"])) is None
    with pytest.raises(InvalidStatement, match="once"):
        await _send(core, good, good)


async def test_a_received_voiding_statement_voids_its_target_and_cannot_be_voided(
    core: TrainingCore,
) -> None:
    [target] = await _send(core, _completed())
    [voiding] = await _send(core, _voiding(str(target)))
    assert (await _row(core, target)).voided_by == voiding
    with pytest.raises(InvalidStatement) as refused:
        await _send(core, _voiding(str(voiding)))
    assert refused.value.field == "body/0/object/id"
    async with read_only(core.store.engine) as conn:
        listed = await statements_page(conn, await statements_tables(conn, core), size=10)
    assert [x.statement_id for x in listed] == [voiding]


async def test_a_statement_voided_before_it_arrives_arrives_voided(core: TrainingCore) -> None:
    late = _completed()
    [voiding] = await _send(core, _voiding(late["id"]))
    [target] = await _send(core, late)
    assert (await _row(core, target)).voided_by == voiding


async def test_a_derived_statement_is_voided_by_the_service_alone(
    core: TrainingCore, appoint: Appoint
) -> None:
    worker_id = await appoint()
    trainer = core.commands(Metadata(actor="trainer-wang"))
    starts_at = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    staff = s.Instructor(name="王科长", kind=s.InstructorKind.STAFF)
    session_id = await sessions.schedule(trainer, core.keyring, sessions.SessionCreate(
        topic="防范非法集资", instructors=[staff],
        starts_at=starts_at, ends_at=starts_at + timedelta(hours=2), place="街道会议室",
        capacity=2,
    ))  # fmt: skip
    await sessions.record_attendance(
        trainer, core, sessions.AttendanceSet(attendance=s.Attendance.PRESENT),
        session_id=session_id, worker_id=worker_id,
    )  # fmt: skip
    async with read_only(core.store.engine) as conn:
        [derived] = await statements_page(
            conn, await statements_tables(conn, core), actor_id=worker_id, size=10
        )
    with pytest.raises(InvalidStatement, match="derives"):
        await _send(core, _voiding(str(derived.statement_id)))


async def test_a_workers_account_names_the_worker_and_their_erasure_leaves_only_the_clear_part(
    core: TrainingCore, appoint: Appoint
) -> None:
    worker_id = await appoint()
    home = core.settings.xapi_home_page
    account = {"account": {"homePage": home, "name": str(worker_id)}}
    [statement_id] = await _send(core, _completed(account))
    row = await _row(core, statement_id)
    assert row.actor_id == worker_id
    await erasure.erase_worker(
        core.commands(Metadata(actor="admin-li")), core.keyring,
        Erasure(legal_ground=ErasureGround.SERVICE_ENDED), worker_id=worker_id,
    )  # fmt: skip
    served = await _served(core, statement_id)
    assert served["actor"]["account"] == {"homePage": f"{home}/erased", "name": str(worker_id)}
    assert served["verb"] == {"id": ADL + "completed"}
    assert served["object"] == {"objectType": "Activity", "id": COURSE}


async def test_an_outside_actors_erasure_leaves_their_statements_only_the_clear_part(
    core: TrainingCore, appoint: Appoint
) -> None:
    [statement_id] = await _send(core, _completed())
    admin = core.commands(Metadata(actor="admin-li"))
    ground = ErasureGround.CONSENT_WITHDRAWN
    asked = ActorErasure(agent={"mbox": "mailto:wangfang@example.org"}, legal_ground=ground)
    erased = await erase_actor(admin, core, asked)
    assert erased.actor_id == core.pseudonyms.subject("mbox:mailto:wangfang@example.org")
    again = ActorErasure(agent=asked.agent, legal_ground=ErasureGround.OTHER_LEGAL_GROUND)
    assert (await erase_actor(admin, core, again)).legal_ground == ground
    served = await _served(core, statement_id)
    assert "wangfang" not in json.dumps(served)
    assert served["actor"]["account"]["name"] == str(erased.actor_id)
    with pytest.raises(PersonalDataErased):
        await _send(core, _completed())
    worker_id = await appoint()
    account = {"account": {"homePage": core.settings.xapi_home_page, "name": str(worker_id)}}
    with pytest.raises(InvalidStatement, match="worker"):
        await erase_actor(admin, core, ActorErasure(agent=account, legal_ground=ground))


async def test_one_statement_sent_twice_at_once_is_stored_once(core: TrainingCore) -> None:
    sent = _completed()
    first, second = await asyncio.gather(_send(core, sent), _send(core, sent))
    assert first == second == [uuid.UUID(sent["id"])]
    assert len(await core.store.read_stream(r.stream_id(first[0]))) == 1
