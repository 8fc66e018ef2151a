"""Recording door-to-door visits and the needs noted on them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel

from wangge.events.command import CommandRunner, UnitOfWork
from wangge.events.store import AppendResult
from wangge.governance.errors import DomainError
from wangge.registry.domain import households, visits
from wangge.registry.domain.visits import Document, Need, NeedCategory
from wangge.registry.handlers.persons import require_dwelling
from wangge.registry.personal_data import KeyRing


class NeedItem(BaseModel):
    """A need noted on the visit."""

    category: NeedCategory
    description: str
    person_id: uuid.UUID | None = None


class RecordVisit(BaseModel):
    """A visit to a dwelling (and its household)."""

    dwelling_id: uuid.UUID
    household_id: uuid.UUID | None = None
    visited_at: AwareDatetime
    documents_checked: list[Document] = []
    persons_confirmed: list[uuid.UUID] = []
    persons_added: list[uuid.UUID] = []
    persons_corrected: list[uuid.UUID] = []
    note: str | None = None
    needs: list[NeedItem] = []


async def record_visit(commands: CommandRunner, keys: KeyRing, cmd: RecordVisit) -> AppendResult:
    """Record a visit by the calling worker; its note and needs are sealed under a data key of
    the visit."""
    await require_dwelling(commands, cmd.dwelling_id, "dwelling_id")
    members = None
    if cmd.household_id is not None:
        household = (
            await commands.load(
                households.stream_id(cmd.household_id), households.evolve, field="household_id"
            )
        ).state
        assert household is not None
        if household.dwelling_id != cmd.dwelling_id:
            raise DomainError("the household lives at another dwelling", field="household_id")
        members = frozenset(household.members)
    visit_id = uuid.uuid4()
    key = keys.visits.generate()

    async def keep(unit: UnitOfWork) -> None:
        await keys.visits.keep(unit.conn, visit_id, key)

    return await commands.create(
        cmd,
        visits.stream_id(visit_id),
        lambda: visits.record(
            visit_id=visit_id,
            worker_account=commands.actor,
            dwelling_id=cmd.dwelling_id,
            household_id=cmd.household_id,
            visited_at=cmd.visited_at,
            now=datetime.now(UTC),
            documents_checked=cmd.documents_checked,
            persons_confirmed=cmd.persons_confirmed,
            persons_added=cmd.persons_added,
            persons_corrected=cmd.persons_corrected,
            note=cmd.note,
            needs=[Need(n.category, n.description, n.person_id) for n in cmd.needs],
            household_members=members,
            seal=keys.visits.sealer(key, visit_id),
        ),
        also=keep,
    )
