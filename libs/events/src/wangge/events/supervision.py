"""Background workers that never stop for good: restarted with backoff after any error.

The relay, every projection runner and a service's own loops hold connections to the database
and the broker. When one of those goes away (a restart, a network reset) the worker fails; the
supervisor starts it again after a pause that grows with each failure in a row (full jitter, so
a fleet of workers does not reconnect in step) and is bounded, so a worker is back within a few
seconds of its dependency. What a worker had applied or published is in the database, so a
restart resumes where the last commit left off: nothing is lost and nothing applied twice.

One outage is logged as one episode: its first failure, a reminder each minute while it lasts,
and the recovery with the number of restarts, never a line per attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from wangge.events.faults import first_line, is_outage

log = logging.getLogger(__name__)
_JITTER = random.Random()  # noqa: S311 - jitter, nothing secret
"""The restarts' own generator: the module's shared one belongs to everyone in the process (a
test's seeded draws, Hypothesis's check that strategies leave it alone)."""

Healthy = Callable[[], None]
"""What a supervised worker calls once it has done a unit of work (a batch applied or
published): it is healthy again, and its restarts so far end their episode."""

Work = Callable[[Healthy], Awaitable[None]]


@dataclass
class Backoff:
    """Pauses between restarts: up to ``first`` seconds, doubling per failure in a row, at most
    ``most`` seconds; each pause is drawn uniformly below that bound (full jitter)."""

    first: float = 0.25
    most: float = 5.0

    def pause(self, failures: int) -> float:
        # jitter spreads restarts apart; nothing secret is drawn
        bound = min(self.most, self.first * 2 ** min(failures - 1, 16))
        return _JITTER.uniform(0, bound)


@dataclass
class Supervised:
    """One background worker's health, as ``/readyz`` shows it."""

    name: str
    restarts: int = 0
    failures: int = 0
    """Failures in a row since the worker was last healthy (0: healthy)."""
    failing_since: float | None = None
    last_error: str | None = None
    healthy_after: float = 5.0
    """A worker that does not report its progress counts as healthy again once it has run this
    many seconds without failing (``math.inf`` for one that reports each unit of work)."""
    _reminded: float = field(default=0.0, repr=False)

    @property
    def ok(self) -> bool:
        return self.failures == 0

    def detail(self) -> str:
        """How the worker is doing, in a few words."""
        if self.ok:
            return "running" if not self.restarts else f"running (restarted {self.restarts}x)"
        since = time.monotonic() - (self.failing_since or time.monotonic())
        return f"restarting for {since:.0f} s ({self.failures} failures): {self.last_error}"

    def healthy(self) -> None:
        if not self.failures:
            return
        since = time.monotonic() - (self.failing_since or time.monotonic())
        log.warning("%s recovered after %d failures in %.0f s", self.name, self.failures, since)
        self.failures = 0
        self.failing_since = None

    def failed(self, error: BaseException) -> None:
        now = time.monotonic()
        outage = is_outage(error)
        self.last_error = f"{type(error).__name__}: {first_line(error)}"
        self.failures += 1
        if self.failures == 1:
            self.failing_since = self._reminded = now
            if outage:
                log.warning("%s lost a dependency (%s); restarting until it is back",
                            self.name, self.last_error)  # fmt: skip
            else:
                log.error("%s failed; restarting", self.name, exc_info=error)
        elif now - self._reminded >= 60.0:
            self._reminded = now
            log.warning(
                "%s still failing after %d attempts in %.0f s: %s",
                self.name, self.failures, now - (self.failing_since or now), self.last_error,
            )  # fmt: skip
        else:
            log.debug("%s failed again: %s", self.name, self.last_error)


async def supervise(
    work: Work,
    stop: asyncio.Event,
    *,
    health: Supervised,
    backoff: Backoff | None = None,
) -> None:
    """Run ``work`` until ``stop`` is set, starting it again after any error or early return.

    Only cancellation ends it otherwise. ``health`` is updated for readiness checks; ``work``
    reports its progress through the callback it is given.
    """
    backoff = backoff or Backoff()
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        timer = (
            loop.call_later(health.healthy_after, health.healthy)
            if math.isfinite(health.healthy_after)
            else None
        )
        try:
            await work(health.healthy)
            if stop.is_set():
                return
            raise RuntimeError("the worker returned while it should run")
        except asyncio.CancelledError:
            raise
        except Exception as error:
            health.failed(error)
        finally:
            if timer is not None:
                timer.cancel()
        health.restarts += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), backoff.pause(health.failures))
