"""Which rebuilds apply their topics side by side, and how the topics are dealt out."""

from __future__ import annotations

import multiprocessing

import pytest

from wangge.events import tuning
from wangge.events.projection.apart import processes_for, shares
from wangge.events.sources import KafkaSource


def test_topics_are_dealt_largest_first_to_the_share_holding_fewest() -> None:
    counts = {"registry": 393, "hotline": 140, "cases": 114, "training": 9}
    assert shares(counts, 2) == [["registry"], ["hotline", "cases", "training"]]
    assert shares(counts, 3) == [["registry"], ["hotline"], ["cases", "training"]]
    assert shares(dict.fromkeys("abc", 0), 2) == [["a", "c"], ["b"]]


def test_empty_shares_are_left_out() -> None:
    assert shares({"a": 5, "b": 0}, 4) == [["a"], ["b"]]
    assert shares({"a": 5}, 2) == [["a"]]


def _source(*topics: str) -> KafkaSource:
    return KafkaSource("127.0.0.1:9", list(topics), group_id="g")


def test_only_apart_sources_on_postgresql_and_kafka_go_side_by_side(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tuning, "REBUILD_PROCESSES", 4)
    monkeypatch.setattr(tuning, "FAST_PATHS", tuning.FastPaths())
    assert processes_for(_source("a", "b", "c"), "postgresql", True) == 3
    assert processes_for(_source("a", "b", "c"), "postgresql", False) == 1
    assert processes_for(_source("a", "b", "c"), "sqlite", True) == 1
    assert processes_for(_source("a"), "postgresql", True) == 1
    assert processes_for(object(), "postgresql", True) == 1
    monkeypatch.setattr(tuning, "REBUILD_PROCESSES", 1)
    assert processes_for(_source("a", "b"), "postgresql", True) == 1


def test_a_daemonic_process_keeps_a_rebuild_to_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "REBUILD_PROCESSES", 2)
    monkeypatch.setattr(tuning, "FAST_PATHS", tuning.FastPaths())
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True)
    assert processes_for(_source("a", "b"), "postgresql", True) == 1


def test_the_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tuning, "REBUILD_PROCESSES", 2)
    monkeypatch.setattr(tuning, "FAST_PATHS", tuning.FastPaths.parse("no-rebuild-apart"))
    assert processes_for(_source("a", "b"), "postgresql", True) == 1
