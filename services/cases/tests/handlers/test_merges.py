"""The registry's merges of duplicate records, followed below HTTP: rows naming a duplicate read
as the record kept (its id, its mask) while they keep the id they were written with, so undoing
the merge shows them exactly as before; lookups by the record kept find the duplicate's cases
and plans, and so does the registry's erasure of it, whichever of the two arrives first. Merges
of persons never seen, told twice or undone without having been made change nothing wrong."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from wangge.cases.api.care import PlanRead, read_plan
from wangge.cases.api.cases import CaseRead, Mediation, mediation, read_case_as
from wangge.cases.api.inbox import Inbox, inbox
from wangge.cases.bootstrap import CasesCore
from wangge.cases.consumed.registry import (
    PersonalDataErased,
    PersonMerged,
    PersonMergeUndone,
    PersonRegistered,
)
from wangge.cases.domain import care, cases, erasure
from wangge.cases.domain.cases import ERASED
from wangge.cases.handlers import care as handle_care
from wangge.cases.handlers import cases as handle
from wangge.cases.handlers.care import PlanCreate
from wangge.cases.handlers.cases import CaseCreate, PartyCreate
from wangge.cases.projections import care as care_model
from wangge.cases.projections import cases as model
from wangge.cases.projections.care import CarePlans
from wangge.cases.projections.cases import Cases
from wangge.cases.projections.residents import UNKNOWN_RESIDENT, Residents
from wangge.events import Catalogue, IntegrationEvent, Metadata
from wangge.events.command import CommandRunner
from wangge.events.db import read_only
from wangge.events.store import EventStore, open_store
from wangge.service.auth import Principal

Commands = Callable[..., CommandRunner]
WORKER = (uuid.uuid4(), "worker-1")
ME = Principal(subject="worker-1", roles=frozenset({"grid_worker"}), places=frozenset())


@dataclass
class Registry:
    """The registry's store as this service reads it (its events in their consumed copies),
    appending each person's events to their own stream."""

    store: EventStore
    versions: dict[uuid.UUID, int] = field(default_factory=dict)

    async def tell(self, person_id: uuid.UUID, event: IntegrationEvent) -> None:
        version = self.versions.get(person_id, 0)
        await self.store.append(
            f"person-{person_id}", [event], expected_version=version,
            metadata=Metadata(actor="registry"),
        )  # fmt: skip
        self.versions[person_id] = version + 1

    async def register(self, name_masked: str) -> uuid.UUID:
        person_id = uuid.uuid4()
        await self.tell(person_id, PersonRegistered(person_id=person_id, name_masked=name_masked))
        return person_id

    async def merge(self, duplicate: uuid.UUID, into: uuid.UUID) -> None:
        await self.tell(duplicate, PersonMerged(person_id=duplicate, into_person_id=into))

    async def unmerge(self, duplicate: uuid.UUID, from_: uuid.UUID) -> None:
        await self.tell(duplicate, PersonMergeUndone(person_id=duplicate, from_person_id=from_))

    async def erase(self, person_id: uuid.UUID) -> None:
        erased = PersonalDataErased(person_id=person_id, legal_ground="consent_withdrawn")
        await self.tell(person_id, erased)


async def _registry(core: CasesCore) -> Registry:
    catalogue = Catalogue()
    for kind in (PersonRegistered, PersonMerged, PersonMergeUndone, PersonalDataErased):
        catalogue.register(kind, service="registry")
    store = open_store(core.store.engine, service="registry", catalogue=catalogue)
    await store.create_schema()
    return Registry(store)


async def _caught_up(core: CasesCore, registry: Registry) -> None:
    await core.catch_up(upstream={"registry": registry.store})


@dataclass(frozen=True)
class Dealings:
    """A case concerning a resident (and someone else), with the resident as a party, and a
    care plan for them."""

    case_id: uuid.UUID
    plan_id: uuid.UUID


async def _dealings(
    core: CasesCore, commands: Commands, resident: uuid.UUID, other: str
) -> Dealings:
    grid_id = uuid.uuid4()
    body = CaseCreate(
        kind=cases.CaseKind.DISPUTE, source=cases.Source.WALK_IN, title="邻里纠纷",
        description="漏水", grid_id=grid_id, subjects=[str(resident), other],
    )  # fmt: skip
    case_id = await handle.open_case(commands("admin"), core, body, worker=WORKER)
    party = PartyCreate(role="applicant", resident=str(resident))
    await handle.join_party(commands(), core, case_id, party)
    plan = PlanCreate(
        resident=str(resident), grid_id=grid_id, kind=care.CareKind.HEALTH_CHECK, every_days=7,
        starts_on=datetime.now(UTC).date() - timedelta(days=10),
    )  # fmt: skip
    plan_id = await handle_care.start_plan(commands("admin"), core, plan, worker=WORKER)
    return Dealings(case_id, plan_id)


@dataclass(frozen=True)
class Reads:
    """Everything that shows the resident: the case, its mediation, the plan, the inbox."""

    case: CaseRead
    mediation: Mediation
    plan: PlanRead
    inbox: Inbox


async def _reads(core: CasesCore, dealings: Dealings) -> Reads:
    return Reads(
        case=await read_case_as(core, ME, dealings.case_id),
        mediation=await mediation(dealings.case_id, ME, core),
        plan=await read_plan(dealings.plan_id, ME, core),
        inbox=await inbox(ME, core),
    )


def _shown_as(reads: Reads, resident: uuid.UUID, mask: str, other: str) -> None:
    """Every read shows ``resident`` with ``mask``."""
    assert reads.case.subjects == [str(resident), other]
    [party] = reads.mediation.parties
    assert (party.resident, party.name_masked) == (str(resident), mask)
    assert (reads.plan.resident, reads.plan.resident_masked) == (str(resident), mask)
    [listed] = reads.inbox.cases
    assert listed.subjects == [str(resident), other]
    [visit] = reads.inbox.visits
    assert visit.resident_masked == mask


async def _of_resident(
    core: CasesCore, resident: uuid.UUID
) -> tuple[set[uuid.UUID], list[uuid.UUID]]:
    """The cases and plans a lookup by ``resident`` finds, through the residents copy's merges."""
    async with read_only(core.store.engine) as conn:
        merges = (await core.tables(conn, Residents.name))["merges"]
        found = await model.of_resident(
            conn, await core.tables(conn, Cases.name), str(resident), merges=merges
        )
        plans = await care_model.of_resident(
            conn, await core.tables(conn, CarePlans.name), str(resident), merges=merges
        )
    return found, plans


async def _stored_residents(core: CasesCore, dealings: Dealings) -> tuple[list[str], str, str]:
    """The ids the rows were written with: the case's subjects, the party's, the plan's."""
    async with read_only(core.store.engine) as conn:
        tables = await core.tables(conn, Cases.name)
        row = await model.case(conn, tables, dealings.case_id)
        [party] = await model.parties(conn, tables, dealings.case_id)
        plan = await care_model.plan(
            conn, await core.tables(conn, CarePlans.name), dealings.plan_id
        )
    assert row is not None and plan is not None
    return list(row.subjects), str(party.resident), str(plan.resident)


async def _keys_live(core: CasesCore, dealings: Dealings) -> tuple[bool, bool]:
    """Whether the case's text key and the plan's key still exist."""
    async with read_only(core.store.engine) as conn:
        case_key = await core.keyrings.cases.key(conn, dealings.case_id)
        plan_key = await core.keyrings.plans.key(conn, dealings.plan_id)
    return case_key is not None, plan_key is not None


async def test_a_merged_residents_rows_read_as_the_record_kept_until_the_merge_is_undone(
    core: CasesCore, commands: Commands
) -> None:
    registry = await _registry(core)
    duplicate, kept = await registry.register("张*"), await registry.register("张**")
    other = str(uuid.uuid4())
    await _caught_up(core, registry)
    dealings = await _dealings(core, commands, duplicate, other)
    before = await _reads(core, dealings)
    _shown_as(before, duplicate, "张*", other)
    assert await _of_resident(core, kept) == (set(), [])

    await registry.merge(duplicate, kept)
    await _caught_up(core, registry)
    _shown_as(await _reads(core, dealings), kept, "张**", other)
    assert await _of_resident(core, kept) == ({dealings.case_id}, [dealings.plan_id])
    # the rows keep the duplicate: the merge is resolved as they are read
    stored = ([str(duplicate), other], str(duplicate), str(duplicate))
    assert await _stored_residents(core, dealings) == stored

    await registry.unmerge(duplicate, kept)
    await _caught_up(core, registry)
    assert await _reads(core, dealings) == before
    assert await _of_resident(core, kept) == (set(), [])
    assert await _of_resident(core, duplicate) == ({dealings.case_id}, [dealings.plan_id])


async def test_a_chain_of_merges_is_followed_to_the_record_kept_and_undone_a_link_at_a_time(
    core: CasesCore, commands: Commands
) -> None:
    registry = await _registry(core)
    a, b, c = [await registry.register(m) for m in ("李*", "李**", "李***")]
    other = str(uuid.uuid4())
    await _caught_up(core, registry)
    dealings = await _dealings(core, commands, a, other)
    await registry.merge(a, b)
    await registry.merge(b, c)
    await _caught_up(core, registry)
    _shown_as(await _reads(core, dealings), c, "李***", other)
    assert await _of_resident(core, c) == ({dealings.case_id}, [dealings.plan_id])
    assert await _of_resident(core, b) == ({dealings.case_id}, [dealings.plan_id])

    await registry.unmerge(b, c)
    await _caught_up(core, registry)
    _shown_as(await _reads(core, dealings), b, "李**", other)
    assert await _of_resident(core, c) == (set(), [])


async def test_merges_of_persons_never_seen_told_twice_or_undone_unmade_change_nothing_wrong(
    core: CasesCore, commands: Commands
) -> None:
    registry = await _registry(core)
    duplicate, kept, stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    other = str(uuid.uuid4())
    # an undo of a merge never made, of persons never registered
    await registry.unmerge(duplicate, kept)
    await _caught_up(core, registry)
    dealings = await _dealings(core, commands, duplicate, other)
    before = await _reads(core, dealings)
    _shown_as(before, duplicate, UNKNOWN_RESIDENT, other)

    # merged twice into a record the copy never saw: shown as that record, unknown
    await registry.merge(duplicate, kept)
    await registry.merge(duplicate, kept)
    await _caught_up(core, registry)
    _shown_as(await _reads(core, dealings), kept, UNKNOWN_RESIDENT, other)
    # an undo naming another record than the one merged into is not this merge's
    await registry.unmerge(duplicate, stranger)
    await _caught_up(core, registry)
    assert (await _reads(core, dealings)).case.subjects == [str(kept), other]
    await registry.unmerge(duplicate, kept)
    await registry.unmerge(duplicate, kept)
    await _caught_up(core, registry)
    assert await _reads(core, dealings) == before


async def test_the_erasure_of_the_record_kept_reaches_the_rows_naming_the_duplicate(
    core: CasesCore, commands: Commands
) -> None:
    registry = await _registry(core)
    duplicate, kept = await registry.register("王*"), await registry.register("王**")
    other = str(uuid.uuid4())
    await _caught_up(core, registry)
    dealings = await _dealings(core, commands, duplicate, other)
    assert await _keys_live(core, dealings) == (True, True)
    await registry.merge(duplicate, kept)
    await registry.erase(kept)
    await _caught_up(core, registry)

    assert await _keys_live(core, dealings) == (False, False)
    [record] = await core.store.read_stream(erasure.stream_id(kept))
    assert isinstance(record.data, erasure.ResidentDataErased)
    assert (record.data.cases, record.data.care_plans) == ([dealings.case_id], [dealings.plan_id])
    _shown_as(await _reads(core, dealings), kept, ERASED, other)
    # undone, the duplicate (whom the registry did not erase) shows as itself; keys stay gone
    await registry.unmerge(duplicate, kept)
    await _caught_up(core, registry)
    _shown_as(await _reads(core, dealings), duplicate, "王*", other)
    assert await _keys_live(core, dealings) == (False, False)


async def test_a_merge_arriving_after_the_erasure_of_the_record_kept_reaches_the_duplicate(
    core: CasesCore, commands: Commands
) -> None:
    registry = await _registry(core)
    duplicate, kept = await registry.register("赵*"), await registry.register("赵**")
    other = str(uuid.uuid4())
    await _caught_up(core, registry)
    dealings = await _dealings(core, commands, duplicate, other)
    # the two persons' streams may come on different partitions: the erasure first
    await registry.erase(kept)
    await _caught_up(core, registry)
    assert await _keys_live(core, dealings) == (True, True)

    await registry.merge(duplicate, kept)
    await _caught_up(core, registry)
    assert await _keys_live(core, dealings) == (False, False)
    first, reached = await core.store.read_stream(erasure.stream_id(kept))
    assert isinstance(first.data, erasure.ResidentDataErased)
    assert (first.data.cases, first.data.care_plans) == ([], [])
    assert isinstance(reached.data, erasure.ResidentDataErased)
    assert (reached.data.legal_ground, reached.data.person_id) == ("consent_withdrawn", kept)
    assert (reached.data.cases, reached.data.care_plans) == (
        [dealings.case_id], [dealings.plan_id],
    )  # fmt: skip
    # caught up again, or merged again after an undo: nothing more is recorded
    await registry.unmerge(duplicate, kept)
    await registry.merge(duplicate, kept)
    await _caught_up(core, registry)
    assert len(await core.store.read_stream(erasure.stream_id(kept))) == 2
