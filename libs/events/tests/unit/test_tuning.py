"""The fast-path switches: what ``WANGGE_FAST_PATHS`` may say, and what a typo gets."""

from __future__ import annotations

import pytest

from wangge.events.tuning import FastPaths


def test_unset_or_all_runs_every_fast_path() -> None:
    assert FastPaths.parse(None).off == FastPaths.parse("all").off == []


def test_none_runs_every_slow_twin() -> None:
    paths = FastPaths.parse("none")
    assert not paths.folding and not paths.copy and not paths.group_commit
    assert len(paths.off) == 10


def test_a_list_turns_off_the_paths_it_names() -> None:
    assert FastPaths.parse(" no-folding, no-batch-append ").off == ["folding", "batch_append"]


@pytest.mark.parametrize("value", ["folding", "no-folds", "no-copy,fast"])
def test_an_unknown_name_is_refused_listing_the_known_ones(value: str) -> None:
    with pytest.raises(ValueError, match="no-inline-once"):
        FastPaths.parse(value)
