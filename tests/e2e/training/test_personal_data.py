"""Personal data in the training service: free text about a worker, an instructor's or a
guest's name, never in clear in the event table (the topic's source); sealed with the subject's
key, redacted or masked in clear; erased by destroying that key, once, with its legal ground."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.db import create_engine
from wangge.events.sealing import KeyRing, Sealed
from wangge.training.personal_data import keyring, subject_keys

from duo_support import Duo, json_of

PHONE = "13812345678"
NOTE = f"张伟家中有事,请联系其母亲 {PHONE}"
MENTOR = "陈志强"
GUEST = "王敏华"
LAWYER = {"name": "李大律师", "kind": "outside", "organisation": "某律师事务所"}
SECRETS = (PHONE, MENTOR, GUEST, "李大律师")
"""What no clear copy keeps: the phone is masked by pattern, the names because they are known."""


def _when(days: float) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    return {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}


@asynccontextmanager
async def _training_db(duo: Duo) -> AsyncIterator[AsyncConnection]:
    """A connection to the training service's own database, past its API."""
    settings = duo.training.settings
    engine = create_engine(settings.resolved_database_url, **settings.engine_options())
    try:
        async with engine.connect() as conn:
            yield conn
    finally:
        await engine.dispose()


async def _raw_events(duo: Duo) -> list[dict[str, Any]]:
    async with _training_db(duo) as conn:
        rows = (await conn.execute(sa.text("SELECT type, data FROM events"))).all()
    return [{"type": r.type, "data": r.data} for r in rows]


async def _key(duo: Duo, subject_id: str) -> bytes | None:
    async with _training_db(duo) as conn:
        return await keyring(duo.training.settings.kek()).key(conn, uuid.UUID(subject_id))


async def _zhang_late_with_a_note(
    duo: Duo, topic: str, place: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Zhang appointed, and recorded late with :data:`NOTE` to a session an outside lawyer gave
    yesterday: his id, the session as scheduled, and as its roll then reads."""
    worker_id = await duo.appoint("worker-zhang", "张伟")
    client, trainer = duo.training.client, duo.trainer()
    held = await json_of(
        await client.post("/sessions", json={"topic": topic, "instructors": [LAWYER],
                                             "place": place, "capacity": 9, **_when(-1)},
                          headers=trainer), 201,
    )  # fmt: skip
    roll = await json_of(
        await client.put(f"/sessions/{held['session_id']}/attendance/{worker_id}",
                         json={"attendance": "late", "note": NOTE}, headers=trainer)
    )  # fmt: skip
    return worker_id, held, roll


def _sealed(events: list[dict[str, Any]], kind: str) -> Sealed:
    data = next(e["data"] for e in events if e["type"].endswith(kind))
    return Sealed.model_validate((json.loads(data) if isinstance(data, str) else data)["sealed"])


async def test_free_text_and_outside_names_are_sealed_and_only_redacted_or_masked_in_clear(
    duo: Duo,
) -> None:
    zhang, held, roll = await _zhang_late_with_a_note(duo, "防范非法集资", "街道会议室")
    client, trainer = duo.training.client, duo.trainer()
    assert held["instructors"][0]["name"] == "李***"
    assert roll["roll"][0]["note"] == "张伟家中有事,请联系其母亲 138****5678"
    today = datetime.now(UTC).date()
    secondment = await json_of(
        await client.post("/secondments", json={
            "worker_id": zhang, "host_kind": "service_hall", "host": "便民服务大厅",
            "starts_on": today.isoformat(), "ends_on": today.isoformat(), "mentor": MENTOR,
            "goals": [f"回访 {PHONE} 的来电人"]}, headers=trainer), 201,
    )  # fmt: skip
    assert (secondment["mentor"], secondment["goals"]) == ("陈**", ["回访 138****5678 的来电人"])
    forum = await json_of(
        await client.post("/forums", json={
            "topic": "服务清单", "place": "社区会议室", "participants": [zhang],
            "held_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "guests": [GUEST],
            "summary": f"居民{GUEST}建议夜间代办"}, headers=trainer), 201,
    )  # fmt: skip
    assert forum["guests"] == ["王**"]
    events = await _raw_events(duo)
    raw = str([e["data"] for e in events])
    for secret in SECRETS:
        assert secret not in raw, secret
    # the sealed blocks open with their subjects' keys: the worker's, the session's, the forum's
    worker_key = await _key(duo, zhang)
    assert worker_key is not None
    assert KeyRing.unseal(worker_key, _sealed(events, "AttendanceRecorded")) == {"note": NOTE}
    opened = KeyRing.unseal(worker_key, _sealed(events, "SecondmentArranged"))
    assert opened["mentor"] == MENTOR
    session_key = await _key(duo, held["session_id"])
    assert session_key is not None
    assert KeyRing.unseal(session_key, _sealed(events, "TrainingSessionScheduled")) == {
        "instructors": ["李大律师"]
    }
    forum_key = await _key(duo, forum["forum_id"])
    assert forum_key is not None
    assert KeyRing.unseal(forum_key, _sealed(events, "ForumHeld"))["guests"] == [GUEST]


async def test_erasing_a_workers_data_destroys_their_key_once_with_the_legal_ground(
    duo: Duo,
) -> None:
    zhang, held, _ = await _zhang_late_with_a_note(duo, "调解", "会议室")
    client, trainer = duo.training.client, duo.trainer()
    path = f"/sessions/{held['session_id']}/attendance/{zhang}"
    erase = f"/workers/{zhang}/personal-data"
    body = {"legal_ground": "consent_withdrawn"}
    # trainers may not erase; an unknown worker is a 404
    assert (await client.request("DELETE", erase, json=body, headers=trainer)).status_code == 403
    admin = duo.training.as_("subdistrict_admin", places=["320111001"], subject="admin-li")
    unknown = await client.request(
        "DELETE", f"/workers/{uuid.uuid4()}/personal-data", json=body, headers=admin
    )
    assert unknown.status_code == 404
    first = await json_of(await client.request("DELETE", erase, json=body, headers=admin))
    assert first == {"subject_id": zhang, "subject": "worker", "legal_ground": "consent_withdrawn"}
    again = await json_of(
        await client.request("DELETE", erase, json={"legal_ground": "purpose_achieved"},
                             headers=admin)
    )  # fmt: skip
    assert again == first
    assert await _key(duo, zhang) is None
    erasures = [e for e in await _raw_events(duo) if e["type"].endswith("PersonalDataErased")]
    assert len(erasures) == 1
    # nothing more is sealed with the destroyed key: a new note is refused, none is fine
    refused = await client.put(
        path, json={"attendance": "present", "note": "补记"}, headers=trainer
    )
    assert refused.status_code == 410, refused.text
    assert refused.json()["errors"][0]["field"] == "note"
    fine = await client.put(path, json={"attendance": "present"}, headers=trainer)
    assert fine.status_code == 200, fine.text
    async with _training_db(duo) as conn:
        erased_at = await conn.scalar(
            sa.select(subject_keys.c.erased_at).where(subject_keys.c.subject_id == uuid.UUID(zhang))
        )
    assert erased_at is not None
