"""A rebuild's garbage-collector settings are put back exactly, also when rebuilds overlap."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from wangge.events.projection.collector import YOUNG_OBJECTS_DURING_REBUILD, Collector


@pytest.fixture
def collector_as_found() -> Iterator[None]:
    thresholds, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen:
            gc.unfreeze()


@pytest.mark.usefixtures("collector_as_found")
def test_overlapping_rebuilds_leave_the_thresholds_and_frozen_objects_as_they_found_them() -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    collector = Collector()
    first, second = collector.set_aside(), collector.set_aside()
    first.__enter__()
    assert gc.get_threshold() == (YOUNG_OBJECTS_DURING_REBUILD, 10, 10)
    assert gc.get_freeze_count() > 0
    second.__enter__()
    first.__exit__(None, None, None)  # the first ends while the second still runs
    assert gc.get_threshold() == (YOUNG_OBJECTS_DURING_REBUILD, 10, 10)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("collector_as_found")
def test_a_process_that_froze_its_objects_keeps_them_frozen_and_an_off_collector_stays_off() -> (
    None
):
    gc.set_threshold(0, 10, 10)
    gc.freeze()
    collector = Collector()
    with collector.set_aside():
        assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_threshold() == (0, 10, 10)
    assert gc.get_freeze_count() > 0
