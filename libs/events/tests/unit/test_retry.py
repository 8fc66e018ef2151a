"""Work overtaken by a younger transaction runs again, a bounded number of times."""

from __future__ import annotations

import pytest

from wangge.events import WriteOrderError
from wangge.events.retry import when_overtaken


async def test_overtaken_work_runs_again_until_it_passes() -> None:
    calls = 0

    async def work() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise WriteOrderError("overtaken")
        return "done"

    assert await when_overtaken(work) == "done"
    assert calls == 3


async def test_work_overtaken_every_time_gives_up() -> None:
    calls = 0

    async def work() -> None:
        nonlocal calls
        calls += 1
        raise WriteOrderError("overtaken")

    with pytest.raises(WriteOrderError):
        await when_overtaken(work, attempts=2)
    assert calls == 2
