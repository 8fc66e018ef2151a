"""Group commit: who shares a batch, and that every item gets the answer its lone run gives."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from wangge.events.group import GroupCommit


class Ledger:
    """A stand-in for a transaction: records which items ran together and which alone."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse = refuse
        self.together: list[list[str]] = []
        self.alone: list[str] = []
        self.gate = asyncio.Event()

    async def run_together(self, items: Sequence[str]) -> list[str]:
        await asyncio.sleep(0)
        if self.refuse & set(items):
            raise RuntimeError("one of the batch is refused: the transaction rolls back")
        self.together.append(list(items))
        return [f"{item}:together" for item in items]

    async def run_alone(self, item: str) -> str:
        await self.gate.wait()  # the first item holds the queue while the others arrive
        if item in self.refuse:
            raise ValueError(f"{item} refused")
        self.alone.append(item)
        return f"{item}:alone"


def _group(ledger: Ledger, **options: object) -> GroupCommit[str, str]:
    return GroupCommit(ledger.run_together, ledger.run_alone, **options)  # type: ignore[arg-type]


async def _submitted(group: GroupCommit[str, str], items: list[str]) -> list[asyncio.Task[str]]:
    """The first item on its way alone (held at the ledger's gate), the others queued behind."""
    first = asyncio.create_task(group.submit(items[0]))
    await asyncio.sleep(0.01)
    tasks = [first, *(asyncio.create_task(group.submit(item)) for item in items[1:])]
    await asyncio.sleep(0.01)
    return tasks


async def _arrive(group: GroupCommit[str, str], ledger: Ledger, items: list[str]) -> list[str]:
    tasks = await _submitted(group, items)
    ledger.gate.set()
    return list(await asyncio.gather(*tasks))


async def test_a_lone_item_runs_alone_and_items_arriving_meanwhile_share_the_next_batch() -> None:
    ledger = Ledger()
    group = _group(ledger)
    answers = await _arrive(group, ledger, ["a", "b", "c", "d"])
    assert answers == ["a:alone", "b:together", "c:together", "d:together"]
    assert ledger.alone == ["a"]
    assert ledger.together == [["b", "c", "d"]]
    assert (group.batches, group.grouped) == (1, 3)


async def test_an_item_that_does_not_fit_waits_for_the_next_batch_in_its_order() -> None:
    ledger = Ledger()
    group = _group(ledger, fits=lambda batch, item: item[0] not in {b[0] for b in batch})
    answers = await _arrive(group, ledger, ["x0", "a1", "a2", "b1", "a3", "b2"])
    assert ledger.together == [["a1", "b1"], ["a2", "b2"]]
    assert ledger.alone == ["x0", "a3"]  # the last one held has nobody left to share with
    assert answers == ["x0:alone", "a1:together", "a2:together", "b1:together", "a3:alone",
                       "b2:together"]  # fmt: skip


async def test_the_limit_caps_a_batch() -> None:
    ledger = Ledger()
    group = _group(ledger, limit=2)
    await _arrive(group, ledger, ["a", "b", "c", "d", "e"])
    assert ledger.together == [["b", "c"], ["d", "e"]]


async def test_a_refused_batch_runs_each_item_alone_and_each_gets_its_own_answer() -> None:
    ledger = Ledger(refuse=frozenset({"c"}))
    group = _group(ledger)
    tasks = await _submitted(group, ["a", "b", "c", "d"])
    ledger.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[:2] == ["a:alone", "b:alone"]
    assert isinstance(results[2], ValueError) and str(results[2]) == "c refused"
    assert results[3] == "d:alone"
    assert ledger.together == []
    assert group.batches == 0


async def test_an_item_whose_caller_went_away_still_runs() -> None:
    ledger = Ledger()
    group = _group(ledger)
    first, gone = await _submitted(group, ["a", "b"])
    gone.cancel()
    ledger.gate.set()
    assert await first == "a:alone"
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.sleep(0.01)
    assert ledger.alone == ["a", "b"]  # a batch of one runs alone


async def test_items_queued_before_the_queue_starts_share_the_first_batch() -> None:
    ledger = Ledger()
    ledger.gate.set()
    group = _group(ledger)
    answers = await asyncio.gather(*(group.submit(item) for item in ["a", "b", "c"]))
    assert answers == ["a:together", "b:together", "c:together"]
    assert ledger.alone == []


async def test_the_queue_works_again_after_it_drained() -> None:
    ledger = Ledger()
    ledger.gate.set()
    group = _group(ledger)
    assert await group.submit("a") == "a:alone"
    assert await group.submit("b") == "b:alone"
    assert ledger.alone == ["a", "b"]
