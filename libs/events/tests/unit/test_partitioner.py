"""The producers' partitioner puts every key where aiokafka's default (and Java's) puts it."""

from __future__ import annotations

import uuid

from aiokafka.partitioner import DefaultPartitioner

from wangge.events.kafka import StreamPartitioner


def test_each_key_goes_where_the_default_partitioner_puts_it_again_and_again() -> None:
    ours, default = StreamPartitioner(remembered=50), DefaultPartitioner()
    keys = [f"person-{uuid.uuid4()}".encode() for _ in range(120)] + [b"", b"a", b"abcde"]
    for partitions in (1, 3, 12, 24):
        every = list(range(partitions))
        for _ in range(2):  # the second time from memory (or after it was cleared)
            for key in keys:
                assert ours(key, every, every) == default(key, every, every)


def test_a_known_key_keeps_the_java_clients_partition() -> None:
    # murmur2 of b"foobar" is known from Kafka's own tests: -790332482, positive 1357151166
    assert StreamPartitioner()(b"foobar", list(range(12)), []) == 1357151166 % 12


def test_keyless_messages_go_to_an_available_partition() -> None:
    assert StreamPartitioner()(None, [0, 1, 2], [2]) == 2
