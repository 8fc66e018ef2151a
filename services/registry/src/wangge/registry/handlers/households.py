"""Commands on households: registration, members joining and leaving, a new head."""

from __future__ import annotations

import uuid
from datetime import date

import sqlalchemy as sa
from pydantic import BaseModel

from wangge.events.command import CommandRunner, Loaded
from wangge.events.store import AppendResult
from wangge.governance.errors import Conflict, DomainError
from wangge.registry.domain import households
from wangge.registry.domain.households import Household, HouseholdType, Relationship
from wangge.registry.handlers.persons import load_person, require_dwelling
from wangge.registry.projections.people import OPEN_MEMBERSHIP


class DuplicateHouseholdNumber(DomainError):
    """Household numbers are unique in the register."""

    status = 409
    slug = "duplicate-household-number"
    title = "Another household has this number"


class RegisterHousehold(BaseModel):
    """Enter a household at a dwelling, with its head."""

    number: str
    type: HouseholdType
    dwelling_id: uuid.UUID
    head_person_id: uuid.UUID
    on: date


class JoinHousehold(BaseModel):
    """A person joins a household."""

    household_id: uuid.UUID
    person_id: uuid.UUID
    relationship: Relationship
    on: date


class LeaveHousehold(BaseModel):
    """A member leaves a household."""

    household_id: uuid.UUID
    person_id: uuid.UUID
    on: date
    reason: str


class ChangeHead(BaseModel):
    """Another member becomes head."""

    household_id: uuid.UUID
    person_id: uuid.UUID
    former_head_relationship: Relationship | None = None
    on: date


async def load_household(
    commands: CommandRunner, household_id: uuid.UUID, field: str
) -> Loaded[Household]:
    """A household folded from its stream; 404 naming ``field`` when there is none."""
    return await commands.load(households.stream_id(household_id), households.evolve, field=field)


async def register_household(commands: CommandRunner, cmd: RegisterHousehold) -> AppendResult:
    """Register a household; its number is unique."""
    await require_dwelling(commands, cmd.dwelling_id, "dwelling_id")
    await load_person(commands, cmd.head_person_id, "head_person_id")
    household_id = uuid.uuid4()
    try:
        return await commands.create(
            cmd,
            households.stream_id(household_id),
            lambda: households.register(
                household_id=household_id, number=cmd.number, type=cmd.type,
                dwelling_id=cmd.dwelling_id, head_person_id=cmd.head_person_id, on=cmd.on,
            ),
        )  # fmt: skip
    except sa.exc.IntegrityError as error:
        if _second_household(error):
            raise Conflict(
                "the head belongs to another household; they leave it first",
                field="head_person_id",
            ) from None
        raise DuplicateHouseholdNumber(f"{cmd.number} is taken", field="number") from None


async def join_household(commands: CommandRunner, cmd: JoinHousehold) -> AppendResult | None:
    """Add a member."""
    await load_person(commands, cmd.person_id, "person_id")
    loaded = await load_household(commands, cmd.household_id, "household_id")
    try:
        return await commands.change(
            cmd,
            loaded,
            lambda h: households.join(
                h, person_id=cmd.person_id, relationship=cmd.relationship, on=cmd.on
            ),
        )
    except sa.exc.IntegrityError as error:
        if not _second_household(error):
            raise
        raise Conflict(
            "the person belongs to another household; they leave it first", field="person_id"
        ) from None


async def leave_household(commands: CommandRunner, cmd: LeaveHousehold) -> AppendResult | None:
    """Record a member leaving."""
    loaded = await load_household(commands, cmd.household_id, "household_id")
    return await commands.change(
        cmd,
        loaded,
        lambda h: households.leave(h, person_id=cmd.person_id, on=cmd.on, reason=cmd.reason),
    )


async def change_head(commands: CommandRunner, cmd: ChangeHead) -> AppendResult | None:
    """Make another member head of household."""
    loaded = await load_household(commands, cmd.household_id, "household_id")
    return await commands.change(
        cmd,
        loaded,
        lambda h: households.change_head(
            h, person_id=cmd.person_id, former_head_relationship=cmd.former_head_relationship,
            on=cmd.on,
        ),
    )  # fmt: skip


def _second_household(error: sa.exc.IntegrityError) -> bool:
    # PostgreSQL names the index; SQLite names the table and column
    message = str(error.orig)
    return OPEN_MEMBERSHIP in message or "registry_memberships" in message
