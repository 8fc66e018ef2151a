"""The contract every event-store backend passes: one abstract class, subclassed per backend."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from wangge.events import (
    ConcurrencyConflict,
    EventValidationError,
    IdempotencyKeyReused,
    Metadata,
    UnknownEventType,
)
from wangge.events.envelope import START
from wangge.events.store import NO_STREAM, EventStore, StreamAppend, open_store

from events_samples import Counted, HouseholdRegistered, MemberAdded, catalogue


def stream() -> str:
    return f"household-{uuid.uuid4()}"


class EventStoreContract:
    """Subclasses provide ``engine``; every test here then runs against that backend."""

    @pytest.fixture
    def engine(self) -> AsyncEngine:
        raise NotImplementedError

    @pytest.fixture
    async def store(self, engine: AsyncEngine) -> EventStore:
        store = open_store(engine, service="sample", catalogue=catalogue)
        await store.create_schema()
        return store

    async def test_appended_events_are_read_back_in_stream_order(self, store: EventStore) -> None:
        sid = stream()
        result = await store.append(
            sid,
            [
                HouseholdRegistered(household_id="h1", dwelling="d1"),
                MemberAdded(person="p1", relationship="head"),
            ],
            expected_version=NO_STREAM,
            metadata=Metadata(actor="worker-7", correlation_id="c-1"),
        )
        assert (result.first_version, result.last_version) == (1, 2)
        events = await store.read_stream(sid)
        assert [e.data for e in events] == [
            HouseholdRegistered(household_id="h1", dwelling="d1"),
            MemberAdded(person="p1", relationship="head"),
        ]
        first = events[0].envelope
        assert first.type == "wangge.sample.HouseholdRegistered"
        assert first.source == "/wangge/sample"
        assert first.subject == sid
        assert first.sequence == 1
        assert first.actor == "worker-7"
        assert first.correlationid == "c-1"
        assert first.time.tzinfo is UTC
        assert first.id == result.event_ids[0]
        assert await store.stream_version(sid) == 2

    async def test_event_ids_are_uuid_v7(self, store: EventStore) -> None:
        result = await store.append(stream(), [Counted(n=1), Counted(n=2)], expected_version=None)
        assert all(i.version == 7 for i in result.event_ids)
        assert result.event_ids[0] < result.event_ids[1]

    async def test_a_stale_expected_version_is_a_conflict_and_writes_nothing(
        self, store: EventStore
    ) -> None:
        sid = stream()
        await store.append(sid, [Counted(n=1)], expected_version=NO_STREAM)
        with pytest.raises(ConcurrencyConflict) as raised:
            await store.append(sid, [Counted(n=2), Counted(n=3)], expected_version=NO_STREAM)
        assert raised.value.actual == 1
        with pytest.raises(ConcurrencyConflict):
            await store.append(sid, [Counted(n=2)], expected_version=5)
        assert [e.data for e in await store.read_stream(sid)] == [Counted(n=1)]

    async def test_concurrent_writers_at_one_version_have_exactly_one_winner(
        self, store: EventStore
    ) -> None:
        sid = stream()
        await store.append(sid, [Counted(n=0)], expected_version=NO_STREAM)

        async def attempt(n: int) -> bool:
            try:
                await store.append(sid, [Counted(n=n)], expected_version=1)
            except ConcurrencyConflict:
                return False
            return True

        outcomes = await asyncio.gather(*(attempt(n) for n in range(1, 9)))
        assert outcomes.count(True) == 1
        assert await store.stream_version(sid) == 2

    async def test_a_retried_command_returns_the_first_result(self, store: EventStore) -> None:
        sid = stream()
        key = f"key-{uuid.uuid4()}"
        first = await store.append(
            sid, [Counted(n=1)], expected_version=NO_STREAM, idempotency_key=key
        )
        again = await store.append(
            sid, [Counted(n=1)], expected_version=NO_STREAM, idempotency_key=key
        )
        assert again.replayed and not first.replayed
        assert again.event_ids == first.event_ids
        assert again.last_version == first.last_version
        assert await store.stream_version(sid) == 1

    async def test_concurrent_retries_write_once(self, store: EventStore) -> None:
        sid = stream()
        key = f"key-{uuid.uuid4()}"
        results = await asyncio.gather(
            *(
                store.append(sid, [Counted(n=1)], expected_version=NO_STREAM, idempotency_key=key)
                for _ in range(5)
            )
        )
        assert len({r.event_ids for r in results}) == 1
        assert await store.stream_version(sid) == 1

    async def test_an_idempotency_key_reused_for_another_command_is_refused(
        self, store: EventStore
    ) -> None:
        key = f"key-{uuid.uuid4()}"
        sid = stream()
        await store.append(sid, [Counted(n=1)], expected_version=None, idempotency_key=key)
        with pytest.raises(IdempotencyKeyReused):
            await store.append(sid, [Counted(n=2)], expected_version=None, idempotency_key=key)
        assert await store.stream_version(sid) == 1

    async def test_a_retry_inside_a_transaction_finds_its_first_result_and_writes_on(
        self, store: EventStore
    ) -> None:
        sid, other = stream(), stream()
        key = f"key-{uuid.uuid4()}"
        first = await store.append(sid, [Counted(n=1)], expected_version=0, idempotency_key=key)
        async with store.begin() as conn:
            again = await store.append(
                sid, [Counted(n=1)], expected_version=0, idempotency_key=key, connection=conn
            )
            # the retry aborted nothing: the transaction's next append goes through
            await store.append(other, [Counted(n=2)], expected_version=0, connection=conn)
            with pytest.raises(IdempotencyKeyReused):
                await store.append(
                    sid, [Counted(n=3)], expected_version=None, idempotency_key=key,
                    connection=conn,
                )  # fmt: skip
        assert again.replayed and again.event_ids == first.event_ids
        assert await store.stream_version(sid) == 1
        # neither the retry nor the refusal wrote anything, nor spoiled the transaction
        assert await store.stream_version(other) == 1

    async def test_many_streams_read_at_once_in_a_transaction(self, store: EventStore) -> None:
        a, b, missing = stream(), stream(), stream()
        await store.append(a, [Counted(n=1), Counted(n=2)], expected_version=NO_STREAM)
        async with store.begin() as conn:
            await store.append(b, [Counted(n=3)], expected_version=NO_STREAM, connection=conn)
            read = await store.read_streams([a, missing, b, a], connection=conn)
        assert {s: [e.data for e in events] for s, events in read.items()} == {
            a: [Counted(n=1), Counted(n=2)],
            b: [Counted(n=3)],  # the transaction's own append
        }
        assert [e.version for e in read[a]] == [1, 2]

    async def test_an_invalid_event_is_refused_naming_the_field(self, store: EventStore) -> None:
        # model_construct skips validation: the store must catch what it let through
        wrong: dict[str, Any] = {"household_id": "h1", "dwelling": 42, "kind": "tent"}
        bad = HouseholdRegistered.model_construct(**wrong)
        sid = stream()
        with pytest.raises(EventValidationError) as raised:
            await store.append(sid, [Counted(n=1), bad], expected_version=None)
        fields = {e.field for e in raised.value.errors}
        assert fields == {"dwelling", "kind"}
        assert await store.stream_version(sid) == 0

    async def test_an_event_copied_with_a_bad_update_is_refused(self, store: EventStore) -> None:
        # model_copy(update=...) skips validation too
        bad = Counted(n=1).model_copy(update={"n": "many"})
        sid = stream()
        with pytest.raises(EventValidationError) as raised:
            await store.append(sid, [bad], expected_version=None)
        assert {e.field for e in raised.value.errors} == {"n"}
        assert await store.stream_version(sid) == 0

    async def test_an_unregistered_event_type_is_refused(self, store: EventStore) -> None:
        class Unregistered(Counted):
            pass

        with pytest.raises(UnknownEventType):
            await store.append(stream(), [Unregistered(n=1)], expected_version=None)

    async def test_an_unknown_type_in_a_stream_is_an_error_not_a_skip(
        self, store: EventStore
    ) -> None:
        sid = stream()
        await store.append(sid, [Counted(n=1)], expected_version=None)
        async with store.begin() as conn:
            await conn.execute(
                sa.update(store.tables.events)
                .where(store.tables.events.c.stream_id == sid)
                .values(type="wangge.sample.Vanished")
            )
        with pytest.raises(UnknownEventType):
            await store.read_stream(sid)

    async def test_old_schema_versions_are_upcast_on_read(self, store: EventStore) -> None:
        sid = stream()
        await store.append(sid, [MemberAdded(person="x", relationship="y")], expected_version=None)
        async with store.begin() as conn:
            await conn.execute(
                sa.update(store.tables.events)
                .where(store.tables.events.c.stream_id == sid)
                .values(schema_version=1, data={"name": "p9", "relation": "spouse"})
            )
        [event] = await store.read_stream(sid)
        assert event.data == MemberAdded(person="p9", relationship="spouse")
        assert event.envelope.dataschema.endswith(":2")

    async def test_read_all_follows_the_log_from_a_checkpoint(self, store: EventStore) -> None:
        streams = [stream() for _ in range(3)]
        for n, sid in enumerate(streams):
            await store.append(sid, [Counted(n=n), Counted(n=n + 10)], expected_version=None)
        seen = []
        checkpoint = START
        while batch := await store.read_all(checkpoint, limit=4):
            seen.extend(batch)
            checkpoint = batch[-1].checkpoint
        ours = [e for e in seen if e.envelope.subject in streams]
        assert [(e.envelope.subject, e.envelope.sequence) for e in ours] == [
            (sid, v) for sid in streams for v in (1, 2)
        ]
        assert [e.checkpoint for e in seen] == sorted(e.checkpoint for e in seen)
        assert await store.read_all(checkpoint) == []

    async def test_appends_and_read_model_writes_share_one_transaction(
        self, store: EventStore
    ) -> None:
        sid = stream()
        note = sa.Table("notes", sa.MetaData(), sa.Column("id", sa.String, primary_key=True))
        async with store.engine.begin() as conn:
            await conn.run_sync(note.metadata.create_all)
        with pytest.raises(RuntimeError):
            async with store.begin() as conn:
                await store.append(sid, [Counted(n=1)], expected_version=None, connection=conn)
                await conn.execute(sa.insert(note).values(id=sid))
                raise RuntimeError("the command fails after appending")
        assert await store.stream_version(sid) == 0
        async with store.begin() as conn:
            await store.append(sid, [Counted(n=1)], expected_version=None, connection=conn)
            await store.append(stream(), [Counted(n=2)], expected_version=None, connection=conn)
            await conn.execute(sa.insert(note).values(id=sid))
        assert await store.stream_version(sid) == 1

    async def test_a_batch_appends_to_many_streams_at_once(self, store: EventStore) -> None:
        old, new = stream(), stream()
        await store.append(old, [Counted(n=1)], expected_version=NO_STREAM)
        async with store.begin() as conn:
            results = await store.append_batch(
                [
                    StreamAppend(new, [HouseholdRegistered(household_id=new, dwelling="d"),
                                       Counted(n=5)], NO_STREAM),
                    StreamAppend(old, [Counted(n=2)], 1),
                ],
                connection=conn,
                metadata=Metadata(actor="importer"),
            )  # fmt: skip
        assert [(r.stream_id, r.first_version, r.last_version) for r in results] == [
            (new, 1, 2), (old, 2, 2),
        ]  # fmt: skip
        back = await store.read_stream(old)
        assert [e.data for e in back] == [Counted(n=1), Counted(n=2)]
        assert back[-1].envelope.actor == "importer"
        assert [e.version for e in await store.read_stream(new)] == [1, 2]

    async def test_a_batch_with_one_stale_stream_writes_nothing(self, store: EventStore) -> None:
        old, new = stream(), stream()
        await store.append(old, [Counted(n=1)], expected_version=NO_STREAM)
        with pytest.raises(ConcurrencyConflict):
            async with store.begin() as conn:
                await store.append_batch(
                    [StreamAppend(new, [Counted(n=1)], NO_STREAM),
                     StreamAppend(old, [Counted(n=2)], NO_STREAM)],
                    connection=conn,
                )  # fmt: skip
        assert await store.stream_version(new) == 0
        assert await store.stream_version(old) == 1

    async def test_a_batch_records_the_keys_of_the_streams_it_starts(
        self, store: EventStore
    ) -> None:
        keyed, plain = stream(), stream()
        async with store.begin() as conn:
            [first, _] = await store.append_batch(
                [StreamAppend(keyed, [Counted(n=1), Counted(n=2)], NO_STREAM,
                              Metadata(actor="reaction"), idempotency_key=f"k:{keyed}",
                              fingerprint="because"),
                 StreamAppend(plain, [Counted(n=3)], NO_STREAM)],
                connection=conn,
            )  # fmt: skip
        # a retry of what caused it finds the batch's result and writes nothing
        again = await store.append(
            keyed, [Counted(n=9)], expected_version=None, idempotency_key=f"k:{keyed}",
            request_fingerprint="because",
        )  # fmt: skip
        assert again.replayed
        assert (again.stream_id, again.first_version, again.last_version, again.event_ids) == (
            keyed, 1, 2, first.event_ids,
        )  # fmt: skip
        assert [e.data for e in await store.read_stream(keyed)] == [Counted(n=1), Counted(n=2)]
        with pytest.raises(IdempotencyKeyReused):
            await store.append(
                keyed, [Counted(n=9)], expected_version=None, idempotency_key=f"k:{keyed}",
                request_fingerprint="another request",
            )  # fmt: skip

    async def test_a_batch_whose_key_is_taken_writes_nothing(self, store: EventStore) -> None:
        taken, new = stream(), stream()
        await store.append(
            taken, [Counted(n=1)], expected_version=None, idempotency_key=f"k:{new}",
            request_fingerprint="because",
        )  # fmt: skip
        with pytest.raises(ConcurrencyConflict):
            async with store.begin() as conn:
                await store.append_batch(
                    [StreamAppend(stream(), [Counted(n=1)], NO_STREAM),
                     StreamAppend(new, [Counted(n=2)], NO_STREAM, idempotency_key=f"k:{new}",
                                  fingerprint="because")],
                    connection=conn,
                )  # fmt: skip
        assert await store.stream_version(new) == 0
        with pytest.raises(ValueError, match="starts"):
            async with store.begin() as conn:
                await store.append_batch(
                    [StreamAppend(taken, [Counted(n=2)], 1, idempotency_key=f"k2:{taken}")],
                    connection=conn,
                )
        assert await store.stream_version(taken) == 1

    async def test_checkpoints_are_saved_and_loaded(self, store: EventStore) -> None:
        name = f"reader-{uuid.uuid4()}"
        assert await store.load_checkpoint(name) == START
        await store.append(stream(), [Counted(n=1)], expected_version=None)
        [*_, last] = await store.read_all(START, limit=10_000)
        await store.save_checkpoint(name, last.checkpoint)
        await store.save_checkpoint(name, last.checkpoint)
        assert await store.load_checkpoint(name) == last.checkpoint

    async def test_only_one_holder_of_an_exclusive_role_at_a_time(self, store: EventStore) -> None:
        name = f"relay-{uuid.uuid4()}"
        holder_entered = asyncio.Event()
        release = asyncio.Event()
        order: list[str] = []

        async def hold(label: str, entered: asyncio.Event | None) -> None:
            async with store.exclusive(name):
                order.append(f"{label} in")
                if entered is not None:
                    entered.set()
                    await release.wait()
                order.append(f"{label} out")

        first = asyncio.create_task(hold("first", holder_entered))
        await holder_entered.wait()
        second = asyncio.create_task(hold("second", None))
        await asyncio.sleep(0.3)
        assert order == ["first in"], "the second holder got in while the first held the role"
        release.set()
        await asyncio.gather(first, second)
        assert order == ["first in", "first out", "second in", "second out"]

    async def test_trying_for_a_held_role_does_not_wait(self, store: EventStore) -> None:
        name = f"runner-{uuid.uuid4()}"
        async with store.exclusive(name), store.try_exclusive(name) as got:
            assert got is False
        async with store.try_exclusive(name) as got:
            assert got is True
            async with store.try_exclusive(name) as again:
                assert again is False
