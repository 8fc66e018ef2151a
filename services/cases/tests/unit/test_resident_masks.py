"""The residents copy gives a party or a care plan the mask the registry published for the
person, never one a client wrote; an id the copy does not know gets a neutral placeholder."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import pytest

from wangge.cases.consumed.registry import (
    PersonalDataErased,
    PersonDetailsCorrected,
    PersonRegistered,
)
from wangge.cases.projections.residents import UNKNOWN_RESIDENT, Residents, name_masked
from wangge.events import IntegrationEvent, RecordedEvent
from wangge.events.envelope import Envelope
from wangge.events.projection import ApplyContext, Projection

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
OnSqlite = Callable[[Projection], AbstractAsyncContextManager[ApplyContext]]


def recorded(data: IntegrationEvent, person: uuid.UUID, version: int = 1) -> RecordedEvent:
    envelope = Envelope(
        id=uuid.uuid4(), source="/wangge/registry", type=data.event_type,
        subject=f"person-{person}", time=T0, dataschema=f"urn:wangge:schema:{data.event_type}:1",
        sequence=version,
    )  # fmt: skip
    return RecordedEvent(envelope=envelope, data=data)


@pytest.fixture
async def residents(on_sqlite: OnSqlite) -> AsyncIterator[tuple[Residents, ApplyContext]]:
    projection = Residents()
    async with on_sqlite(projection) as ctx:
        yield projection, ctx


async def test_a_registered_resident_is_shown_with_the_registrys_mask_as_corrected(
    residents: tuple[Residents, ApplyContext],
) -> None:
    projection, ctx = residents
    person = uuid.uuid4()
    registered = PersonRegistered.model_validate(
        {"person_id": person, "name_masked": "王**", "identity_masked": "3201**", "sex": "male"}
    )  # the reader keeps the mask and nothing else the registry sends
    await projection.apply(ctx, recorded(registered, person))
    assert await name_masked(ctx.conn, ctx.tables, str(person)) == "王**"
    corrected = PersonDetailsCorrected(person_id=person, name_masked="汪*")
    await projection.apply(ctx, recorded(corrected, person, version=2))
    assert await name_masked(ctx.conn, ctx.tables, str(person)) == "汪*"


async def test_a_resident_the_copy_does_not_know_gets_the_placeholder_not_a_guess(
    residents: tuple[Residents, ApplyContext],
) -> None:
    _, ctx = residents
    assert await name_masked(ctx.conn, ctx.tables, str(uuid.uuid4())) == UNKNOWN_RESIDENT
    assert await name_masked(ctx.conn, ctx.tables, "p-1101") == UNKNOWN_RESIDENT
    assert await name_masked(ctx.conn, None, str(uuid.uuid4())) == UNKNOWN_RESIDENT


async def test_a_resident_erased_in_the_registry_is_shown_as_erased_not_with_their_mask(
    residents: tuple[Residents, ApplyContext],
) -> None:
    projection, ctx = residents
    person = uuid.uuid4()
    registered = PersonRegistered(person_id=person, name_masked="王**")
    await projection.apply(ctx, recorded(registered, person))
    erased = PersonalDataErased(person_id=person, legal_ground="consent_withdrawn")
    await projection.apply(ctx, recorded(erased, person, version=2))
    assert await name_masked(ctx.conn, ctx.tables, str(person)) == "已删除"
