"""The command runner keeps a matter's correlation id through people's steps and reactions: a
change carries its stream's, a reaction its cause's (naming the cause), a new stream starts
one, and a caller's own stands."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import DomainEvent, Metadata, RecordedEvent
from wangge.events.command import NO_BODY, CommandRunner, load, react, unit_of_work
from wangge.events.store import NO_STREAM, EventStore, StreamAppend, open_store

from events_samples import Counted, catalogue


def _count(state: int | None, event: DomainEvent, version: int) -> int:
    return version


async def _store(engine: AsyncEngine) -> EventStore:
    store = open_store(engine, service="sample", catalogue=catalogue)
    await store.create_schema()
    return store


def _runner(store: EventStore, **metadata: str) -> CommandRunner:
    return CommandRunner(store, Metadata(actor="worker-1", **metadata))


async def _envelopes(store: EventStore, stream: str) -> list[RecordedEvent]:
    return await store.read_stream(stream)


async def test_a_new_stream_starts_a_matter_and_every_step_on_it_carries_it(
    engine: AsyncEngine,
) -> None:
    store = await _store(engine)
    stream = f"case-{uuid.uuid4()}"
    await _runner(store).create(NO_BODY, stream, lambda: [Counted(n=1)])
    for _ in range(2):  # two people's steps, neither naming a matter
        loaded = await load(store, stream, _count)
        await _runner(store).change(NO_BODY, loaded, lambda _: [Counted(n=2)])
    events = await _envelopes(store, stream)
    matter = events[0].envelope.correlationid
    assert matter is not None
    assert [e.envelope.correlationid for e in events] == [matter] * 3
    assert [e.envelope.causationid for e in events] == [None] * 3


async def test_a_caller_s_own_correlation_id_stands_on_a_change(engine: AsyncEngine) -> None:
    store = await _store(engine)
    stream = f"case-{uuid.uuid4()}"
    await _runner(store, correlation_id="ticket-matter").create(
        NO_BODY, stream, lambda: [Counted(n=1)]
    )
    loaded = await load(store, stream, _count)
    await _runner(store, correlation_id="another").change(NO_BODY, loaded, lambda _: [Counted(n=2)])
    events = await _envelopes(store, stream)
    assert [e.envelope.correlationid for e in events] == ["ticket-matter", "another"]


async def test_a_stream_recorded_without_a_matter_is_its_first_event_s(
    engine: AsyncEngine,
) -> None:
    store = await _store(engine)
    stream = f"case-{uuid.uuid4()}"
    # written before streams carried one: straight to the store, no correlation id
    await store.append(stream, [Counted(n=1)], expected_version=NO_STREAM)
    loaded = await load(store, stream, _count)
    await _runner(store).change(NO_BODY, loaded, lambda _: [Counted(n=2)])
    first, step = await _envelopes(store, stream)
    assert first.envelope.correlationid is None
    assert step.envelope.correlationid == str(first.envelope.id)


async def test_a_reaction_carries_its_cause_s_matter_and_names_the_cause(
    engine: AsyncEngine,
) -> None:
    store = await _store(engine)
    ticket, case = f"ticket-{uuid.uuid4()}", f"case-{uuid.uuid4()}"
    await _runner(store).create(NO_BODY, ticket, lambda: [Counted(n=1), Counted(n=2)])
    received, routed = await _envelopes(store, ticket)
    async with store.begin() as conn:
        await react(
            store, conn, routed, case, _count, lambda _, __: [Counted(n=1)], actor="system:t"
        )
    # then a person's step on the case the reaction opened
    loaded = await load(store, case, _count)
    await _runner(store).change(NO_BODY, loaded, lambda _: [Counted(n=2)])
    opened, step = await _envelopes(store, case)
    assert received.envelope.correlationid is not None
    assert {routed.envelope.correlationid, opened.envelope.correlationid} == {
        received.envelope.correlationid
    }
    assert opened.envelope.causationid == str(routed.envelope.id)
    assert step.envelope.correlationid == received.envelope.correlationid


async def test_a_unit_s_appends_are_one_matter_and_a_group_commit_s_commands_each_their_own(
    engine: AsyncEngine,
) -> None:
    store = await _store(engine)
    one, two = f"a-{uuid.uuid4()}", f"b-{uuid.uuid4()}"
    async with unit_of_work(store, metadata=Metadata(actor="worker-1")) as unit:
        await unit.append(one, [Counted(n=1)], expected_version=NO_STREAM)
        await unit.append(two, [Counted(n=1)], expected_version=NO_STREAM)
    (a,), (b,) = await _envelopes(store, one), await _envelopes(store, two)
    assert a.envelope.correlationid is not None
    assert a.envelope.correlationid == b.envelope.correlationid

    pushes = [f"p-{uuid.uuid4()}" for _ in range(3)]
    async with unit_of_work(store, metadata=Metadata(actor="hotline")) as unit:
        await unit.append_batch(
            [StreamAppend(p, [Counted(n=1)], NO_STREAM, Metadata(actor="hotline")) for p in pushes]
        )
    matters = {(await _envelopes(store, p))[0].envelope.correlationid for p in pushes}
    assert None not in matters and len(matters) == 3
