"""The registry's handlers below HTTP, on the registry's core (migrated, without the web app):
read models updated in the command's transaction, idempotent retries, stale versions, sealing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from wangge.events import Metadata
from wangge.events.command import CommandRunner
from wangge.events.errors import ConcurrencyConflict
from wangge.events.projection import active_tables
from wangge.events.sealed import Sealed
from wangge.governance.erasure import ErasureGround
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.config import RegistrySettings
from wangge.registry.domain.free_text import opened_text
from wangge.registry.domain.persons import ResidenceStatus
from wangge.registry.domain.visits import NeedCategory, NeedNoted, VisitRecorded
from wangge.registry.handlers import persons, places, visits
from wangge.registry.handlers.persons import today
from wangge.registry.projections.activity import Activity
from wangge.registry.projections.people import People

from registry_support import identity_number, started_without_app

WORKER = "worker-320111001-001-001"


@pytest.fixture
async def core(registry_settings: RegistrySettings) -> AsyncIterator[RegistryCore]:
    async with started_without_app(registry_settings) as registry:
        yield registry


def run(core: RegistryCore, key: str | None = None) -> CommandRunner:
    """A command as the worker, with an idempotency key if given."""
    return core.commands(Metadata(actor=WORKER), idempotency_key=key)


async def dwelling(core: RegistryCore) -> uuid.UUID:
    """A dwelling at the end of a branch of the place tree, registered through its handlers."""
    parent: uuid.UUID | None = None
    for kind, name, code, number, usage in (
        ("subdistrict", "沿江街道", "320111001", None, None),
        ("community", "滨江社区", "320111001-001", None, None),
        ("grid", "第1网格", "320111001-001-001", None, None),
        ("building", "12栋", None, "12栋", None),
        ("unit", "2单元", None, "2单元", None),
        ("dwelling", "1201", None, "1201", "rented"),
    ):
        cmd = places.RegisterPlace.model_validate(
            {"kind": kind, "name": name, "code": code, "number": number, "usage": usage,
             "parent_id": parent}
        )  # fmt: skip
        result = await places.register_place(run(core), cmd)
        parent = uuid.UUID(result.stream_id.removeprefix("place-"))
    assert parent is not None
    return parent


def registration(dwelling_id: uuid.UUID, **fields: Any) -> persons.RegisterPerson:
    return persons.RegisterPerson.model_validate(
        {
            "name": "张三", "identity_number": identity_number(), "phone": "13812345678",
            "hukou_type": "local", "residence_status": "resident", "dwelling_id": dwelling_id,
            **fields,
        }
    )  # fmt: skip


def person_id(stream_id: str) -> uuid.UUID:
    return uuid.UUID(stream_id.removeprefix("person-"))


async def person_row(core: RegistryCore, pid: uuid.UUID) -> Any:
    async with core.store.engine.connect() as conn:
        p = (await active_tables(conn, core.projection(People.name)))["persons"]
        return (await conn.execute(sa.select(p).where(p.c.person_id == pid))).first()


async def test_a_registered_person_is_in_the_people_read_model_when_the_command_returns(
    core: RegistryCore,
) -> None:
    result = await persons.register_person(
        run(core), core.keyring, registration(await dwelling(core))
    )

    row = await person_row(core, person_id(result.stream_id))
    assert row is not None, "the inline read model is written in the command's transaction"
    assert (row.name, row.name_masked, row.version) == ("张三", "张*", result.last_version)
    assert row.phone_masked == "138****5678"


async def test_a_retried_registration_returns_the_first_result_and_writes_nothing(
    core: RegistryCore,
) -> None:
    cmd = registration(await dwelling(core))
    first = await persons.register_person(run(core, "retry-1"), core.keyring, cmd)
    events = await core.store.read_stream(first.stream_id)

    again = await persons.register_person(run(core, "retry-1"), core.keyring, cmd)

    assert again.stream_id == first.stream_id
    assert (again.first_version, again.last_version) == (first.first_version, first.last_version)
    assert again.replayed
    assert await core.store.read_stream(first.stream_id) == events
    async with core.store.engine.connect() as conn:
        p = (await active_tables(conn, core.projection(People.name)))["persons"]
        assert await conn.scalar(sa.select(sa.func.count()).select_from(p)) == 1


async def test_a_change_sent_against_a_stale_version_is_a_conflict_and_changes_nothing(
    core: RegistryCore,
) -> None:
    registered = await persons.register_person(
        run(core), core.keyring, registration(await dwelling(core))
    )
    pid = person_id(registered.stream_id)
    change = persons.ChangeResidence(
        person_id=pid, residence_status=ResidenceStatus.FLOATING, on=today()
    )
    stale = run(core).expecting(registered.last_version - 1)

    with pytest.raises(ConcurrencyConflict):
        await persons.change_residence(stale, change)

    assert len(await core.store.read_stream(registered.stream_id)) == registered.last_version
    row = await person_row(core, pid)
    assert (row.residence_status, row.version) == ("resident", registered.last_version)
    current = run(core).expecting(registered.last_version)
    changed = await persons.change_residence(current, change)
    assert changed is not None and changed.last_version == registered.last_version + 1


async def test_a_visits_note_and_needs_are_sealed_under_the_visits_key_with_a_redacted_copy(
    core: RegistryCore,
) -> None:
    home = await dwelling(core)
    note = "老人独居，女儿电话13912345678"
    need = visits.NeedItem(category=NeedCategory.ELDERLY_CARE, description="送餐，联系13912345678")
    cmd = visits.RecordVisit(
        dwelling_id=home, visited_at=datetime.now(UTC), note=note, needs=[need]
    )

    result = await visits.record_visit(run(core), core.keyring, cmd)

    recorded = [e.data for e in await core.store.read_stream(result.stream_id)]
    visit = next(e for e in recorded if isinstance(e, VisitRecorded))
    noted = next(e for e in recorded if isinstance(e, NeedNoted))
    assert visit.worker_account == WORKER, "the visit is the acting worker's"
    assert visit.note is not None and "13912345678" not in visit.note
    assert noted.description is not None and "13912345678" not in noted.description
    assert isinstance(visit.note_sealed, Sealed) and isinstance(noted.description_sealed, Sealed)
    async with core.store.engine.connect() as conn:
        key = await core.keyring.visits.key(conn, visit.visit_id)
        v = (await active_tables(conn, core.projection(Activity.name)))["visits"]
        kept = (await conn.execute(sa.select(v).where(v.c.visit_id == visit.visit_id))).one()
    assert key is not None
    opened = core.keyring.visits.unseal(key, visit.note_sealed)
    assert opened_text(opened) == note
    assert kept.note == visit.note and "13912345678" not in (kept.note_sealed or "")


async def test_erasing_a_person_destroys_the_keys_of_visits_to_their_dwelling(
    core: RegistryCore,
) -> None:
    home = await dwelling(core)
    registered = await persons.register_person(run(core), core.keyring, registration(home))
    visit = await visits.record_visit(
        run(core), core.keyring,
        visits.RecordVisit(dwelling_id=home, visited_at=datetime.now(UTC), note="独居"),
    )  # fmt: skip
    visit_id = uuid.UUID(visit.stream_id.removeprefix("visit-"))
    pid = person_id(registered.stream_id)

    await persons.erase(
        run(core), core, persons.Erase(person_id=pid, legal_ground=ErasureGround.CONSENT_WITHDRAWN)
    )

    async with core.store.engine.connect() as conn:
        assert await core.keyring.key(conn, pid) is None
        assert await core.keyring.visits.key(conn, visit_id) is None
    row = await person_row(core, pid)
    assert (row.name, row.erased) == (None, True)
