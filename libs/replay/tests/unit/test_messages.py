"""A chunk of Kafka messages placed by their headers' places writes what the same messages
written record by record write, whatever their headers: the relay's order, another order, an
optional header missing, or headers that are not an event's as they stand; placed in compiled
code (the fast path) or in Python (its twin)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pyarrow as pa
import pytest
from aiokafka.structs import ConsumerRecord

from wangge.events import tuning
from wangge.events.catalogue import dataschema_for
from wangge.events.contract import published_catalogue
from wangge.events.envelope import Envelope
from wangge.replay import policy as policies
from wangge.replay.chunks import RecordChunk
from wangge.replay.messages import UNREADABLE, MessageChunk, record_of_message
from wangge.replay.native import compiled
from wangge.replay.pseudonyms import pseudonymiser
from wangge.replay.rows import Rows

CATALOGUE = published_catalogue()


@pytest.fixture(autouse=True, params=["compiled", "python"])
def placing(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: messages placed by the compiled part, and by its Python twin."""
    if request.param == "python":
        monkeypatch.setattr(tuning, "FAST_PATHS", tuning.FastPaths(native=False))
        assert compiled() is None
    else:
        assert compiled() is not None, "wangge-replay-native is not built: run make sync"
    return str(request.param)


PERSON_REGISTERED = "wangge.registry.PersonRegistered"


def _person(n: int) -> dict[str, Any]:
    return {
        "person_id": str(uuid.UUID(int=n)), "name_masked": "王**",
        "identity_masked": "320111********123X", "phone_masked": "139****5678",
        "sex": "female", "birth_year": 1940 + n, "hukou_type": "local",
        "residence_status": "resident",
        "personal": {"key": "k", "nonce": "n", "ciphertext": "c"},
    }  # fmt: skip


def _headers(n: int, *, actor: bool = True) -> list[tuple[str, bytes]]:
    envelope = Envelope(
        id=uuid.UUID(int=10_000 + n), source="/wangge/registry", type=PERSON_REGISTERED,
        subject=f"person-{n % 3}", time=datetime(2026, 11, 30, 15 + n % 3, 5, tzinfo=UTC),
        dataschema=dataschema_for(PERSON_REGISTERED, 1), sequence=n,
        actor=f"worker-{n % 2}" if actor else None, correlationid=f"c-{n}",
    )  # fmt: skip
    return envelope.kafka_headers()


def _message(offset: int, headers: list[tuple[str, Any]], data: bytes | None = None) -> Any:
    value = json.dumps(_person(offset)).encode() if data is None else data
    return ConsumerRecord(
        "wangge.registry.events", 3, offset, 1_764_515_100_000, 0, b"k", value, None, 1,
        len(value), tuple(headers),
    )  # fmt: skip


Tables = dict[tuple[str, str], pa.Table]


def _both_ways(
    messages: list[Any], fetches: tuple[int, ...] = ()
) -> tuple[MessageChunk, Tables, Tables]:
    """The chunk's tables as placed (the messages fetched in runs cut at ``fetches``, or in
    halves) and as written record by record."""
    rows = Rows(CATALOGUE, policies.load(None), pseudonymiser(b"k" * 32))
    placed = MessageChunk()
    cuts = [0, *(fetches or (len(messages) // 2,)), len(messages)]
    for start, end in pairwise(cuts):
        placed.add(messages[start:end])
    one_by_one = RecordChunk()
    one_by_one.add([record_of_message(m) for m in messages])
    return placed, placed.tables(rows), one_by_one.tables(rows)


def test_messages_of_the_relays_order_and_of_others_are_placed_as_their_records() -> None:
    messages = []
    for offset in range(12):
        headers = _headers(offset, actor=offset % 4 != 0)
        if offset % 5 == 0:
            headers = headers[::-1]  # another producer's order
        messages.append(_message(offset, headers))
    messages.append(_message(12, _headers(12), data=b"{not json"))  # a fact with its fault
    placed, fast, slow = _both_ways(messages)
    assert not placed.unsorted  # every one placed by position
    assert sorted(fast) == sorted(slow) and len(fast) == 2  # 2026-11 (UTC 15h) and 2026-12
    for key, table in slow.items():
        assert fast[key].equals(table), (key, fast[key].to_pylist(), table.to_pylist())
    assert sum(t.num_rows for t in fast.values()) == 13


def test_fetches_of_one_header_order_and_of_several_are_placed_as_their_records() -> None:
    with_actor = [_message(n, _headers(n)) for n in range(6)]
    mixed = [_message(n, _headers(n, actor=n % 2 == 0)) for n in range(6, 10)]
    without = [_message(n, _headers(n, actor=False)) for n in range(10, 15)]
    odd_value = [_message(n, _headers(n), data=b"{not json" if n == 16 else None) for n in (15, 16)]
    messages = with_actor + mixed + without + odd_value
    placed, fast, slow = _both_ways(messages, fetches=(6, 10, 15))
    assert not placed.unsorted
    assert sorted(fast) == sorted(slow)
    for key, table in slow.items():
        assert fast[key].equals(table), (key, fast[key].to_pylist(), table.to_pylist())
    actors = [a for t in fast.values() for a in t.column("event_actor").to_pylist()]
    assert actors.count(None) == 7  # 2 of the mixed fetch, the 5 without
    # a fetch of one order with a sequence that is not a number: placed message by message
    bad = [_message(n, [(k, b"x" if k == "ce_sequence" and n == 2 else v) for k, v in _headers(n)])
           for n in range(4)]  # fmt: skip
    placed, fast, slow = _both_ways(bad, fetches=(4,))
    assert [m.offset for m in placed.unsorted] == [2]
    assert all(fast[key].equals(table) for key, table in slow.items()) and sorted(fast) == sorted(
        slow
    )


def _same(name: str, value: Any) -> tuple[str, Any]:
    return name, value


def test_messages_not_placed_have_the_chunk_written_record_by_record() -> None:
    odd: dict[int, Callable[[str, Any], tuple[str, Any] | None]] = {
        3: lambda k, v: (k, v) if k != "ce_type" else None,  # not an event of ours
        4: lambda k, v: (k, None if k == "ce_subject" else v),
        5: lambda k, v: (k, b"seven" if k == "ce_sequence" else v),
        6: lambda k, v: (k, b"urn:elsewhere" if k == "ce_dataschema" else v),
        # a time in another form: its month is read from the whole of it
        7: lambda k, v: (k, b"2026-12-01T01:05:00+08:00" if k == "ce_time" else v),
    }
    messages = []
    for offset in range(11):
        change = odd.get(offset, _same)
        headers = [h for h in (change(k, v) for k, v in _headers(offset)) if h is not None]
        messages.append(_message(offset, headers))
    placed, fast, slow = _both_ways(messages)
    assert placed.unsorted
    assert sorted(fast) == sorted(slow)
    for key, table in slow.items():
        assert fast[key].equals(table), key
    unreadable = [key for key in fast if key[0] == UNREADABLE]
    assert unreadable and sum(fast[k].num_rows for k in unreadable) == 3  # type, sequence, schema
    assert sum(t.num_rows for t in fast.values()) == 11
