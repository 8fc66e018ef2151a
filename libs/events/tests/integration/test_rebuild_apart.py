"""A rebuild's shares of topics applied side by side: what each process applied is counted,
and a share that fails fails the rebuild (a forked process's failure is not lost)."""

from __future__ import annotations

import pytest

from wangge.events.projection.apart import catch_up_apart
from wangge.events.sources import KafkaSource

from kafka_support import new_topic

pytestmark = pytest.mark.kafka


async def _nothing_to_let_go() -> None:
    return None


async def test_every_share_is_applied_and_counted(kafka_bootstrap: str) -> None:
    topics = [await new_topic(kafka_bootstrap, partitions=1) for _ in range(3)]
    source = KafkaSource(kafka_bootstrap, topics, group_id="apart")

    async def catch_up(share: KafkaSource) -> int:
        return {1: 10, 2: 100}[len(share.topics)]  # by the share's topics

    applied = await catch_up_apart(source, 2, catch_up, dispose=_nothing_to_let_go, name="sample")
    assert applied == 100 + 10  # two shares: two topics here, one forked


async def test_a_failed_share_fails_the_rebuild(kafka_bootstrap: str) -> None:
    topics = [await new_topic(kafka_bootstrap, partitions=1) for _ in range(2)]
    source = KafkaSource(kafka_bootstrap, topics, group_id="apart")

    async def let_go() -> None:
        raise ConnectionError("the forked share cannot reach the database")

    async def catch_up(share: KafkaSource) -> int:
        return 1

    with pytest.raises(RuntimeError, match="failed \\(exit code 1"):
        await catch_up_apart(source, 2, catch_up, dispose=let_go, name="sample")
