"""The timings and batch sizes the relay and the projection runners are tuned by, in one place.

Each is a trade measured under load (see ``benchmarks/``); the reason stands beside the number.
This module imports nothing of the event machinery, so the relay reads its linger without the
projection machinery. Beside the numbers are the switches of the fast paths (``FastPaths``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

LINGER_SECONDS = 0.025
"""How long a runner waits after a batch short of full before fetching the next. Under a steady
load each batch costs a transaction, a read of applied versions and a save of positions: at 200
events/s, fetching as soon as anything arrives made those most of a consumer's statements. The
wait is the most it adds to an event's way into a read model; an idle runner (nothing fetched)
does not wait here but in its source. The outbox relay waits as long after a short batch."""

INLINE_LINGER_SECONDS = 0.25
"""An inline projection's runner finds nearly every event applied by its command already (it
catches up what was appended without one, and rebuilds): it gathers bigger batches than a
consumer, since checking each small batch cost a transaction for nothing."""

UNHURRIED_LINGER_SECONDS = 0.25
"""The linger of a read model that nobody watches change by the second (a resident's 360 page,
a department's change feed, a matter's lineage: each read when someone asks, a second after the
fact as good as a tenth): its runners gather batches ten times bigger than a consumer on the way
to a wall screen. With five such runners in one service reading the same topics, their
per-batch statements were most of that service's database work under a steady intake. A
projection says so with ``Projection.linger_seconds``."""

REBUILD_PROCESSES = int(os.environ.get("WANGGE_REBUILD_PROCESSES", "0")) or (os.cpu_count() or 1)
"""Processes a rebuild may apply a projection's topics in, side by side, when its sources are
apart (``Projection.sources_apart``): one per core by default, each applying a share of the
topics (a rebuild in one process is bound by its one core; the database's work was a fraction
of a second). ``WANGGE_REBUILD_PROCESSES`` sets it; 1 applies everything in one process."""

REACTIONS_PER_TRANSACTION = 32
"""Handled events a reacting projection applies in one transaction: enough to spread a commit
over a burst, few enough that the embedded store's one write lock is never held long."""

GENERATION_MEMO_SECONDS = 1.0
"""How long a process trusts the active generation it last read. Every read model query and
every inline apply needs it, which made it the most frequent statement of a command; a swap made
by another process (a rebuild) is followed within this time, as the runners follow it (a swap
made through the same memo, by a runner of the engine's, is seen at once). The retired
generation's tables are dropped by the swap, so a reader that trusted a stale number for longer
would query tables that are gone."""


@dataclass(frozen=True)
class FastPaths:
    """Which fast paths run. Each does in fewer statements what its slow twin does one step at a
    time, and must leave the same events and rows (docs/adr/0002-0007 say how each is guarded);
    turning one off runs the twin, so a test or a suspicious operator can compare the two.

    Set by ``WANGGE_FAST_PATHS``: unset or ``all`` runs every fast path, ``none`` none of them,
    and a comma-separated list of ``no-<name>`` (``no-folding,no-copy``) turns off those named.
    """

    group_commit: bool = True
    """Pushed tickets recorded many to a transaction (ADR 0002); off: one push, one transaction."""
    inline_once: bool = True
    """A reacting batch applies its reactions' inline projections once, at its end (ADR 0003);
    off: each reaction applies them as it appends."""
    folding: bool = True
    """Streams that start in a batch folded in memory and inserted at once (ADR 0004); off: the
    runner and the inline apply pass no new streams, so every event is applied on its own."""
    reaction_batches: bool = True
    """A reacting projection applies up to ``REACTIONS_PER_TRANSACTION`` handled events in one
    transaction (ADR 0005), the streams their reactions start appended together; off: one per
    transaction, each reaction appending on its own."""
    batch_append: bool = True
    """PostgreSQL appends a batch of streams in two statements (ADR 0006); off: one append per
    stream, each with its own checks."""
    copy: bool = True
    """PostgreSQL writes many read-model rows with ``COPY`` (ADR 0006); off: ``executemany``."""
    generation_memo: bool = True
    """A process trusts the active generation it read for ``GENERATION_MEMO_SECONDS`` (ADR 0007);
    off: every reader reads it afresh."""
    rebuild_apart: bool = True
    """A rebuild of a projection whose sources are apart applies its topics side by side, in
    ``REBUILD_PROCESSES`` processes (ADR 0009); off: all of them in the rebuilding process."""
    spans: bool = True
    """A bulk inline apply records the span of the log it applied, and the projection's runner
    steps over it (ADR 0012); off: the runner reads every event again and finds it applied."""
    native: bool = True
    """The analysts' replay places each Kafka message by its headers and hashes identifiers in
    compiled code (``wangge-replay-native``); off, or where it is not built: in Python."""

    @classmethod
    def parse(cls, value: str | None) -> FastPaths:
        """The switches ``WANGGE_FAST_PATHS`` sets (see the class); an unknown name is an error,
        so a typo never leaves a fast path on unnoticed."""
        value = (value or "").strip()
        if value in ("", "all"):
            return cls()
        names = {f.name for f in fields(cls)}
        if value == "none":
            return cls(**dict.fromkeys(names, False))
        off: dict[str, bool] = {}
        for item in (part.strip() for part in value.split(",") if part.strip()):
            name = item.removeprefix("no-").replace("-", "_")
            if not item.startswith("no-") or name not in names:
                known = ", ".join(sorted(f"no-{n.replace('_', '-')}" for n in names))
                raise ValueError(f"WANGGE_FAST_PATHS: {item!r} is none of all, none, {known}")
            off[name] = False
        return cls(**off)

    @property
    def off(self) -> list[str]:
        """The fast paths turned off, by name."""
        return [f.name for f in fields(self) if not getattr(self, f.name)]


FAST_PATHS = FastPaths.parse(os.environ.get("WANGGE_FAST_PATHS"))
"""The process's switches, read where each fast path forks from its twin (``tuning.FAST_PATHS``,
looked up at that moment, so a test can run both ways in one process)."""
