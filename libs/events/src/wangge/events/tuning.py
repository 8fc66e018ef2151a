"""The timings and batch sizes the relay and the projection runners are tuned by, in one place.

Each is a trade measured under load (see ``benchmarks/``); the reason stands beside the number.
This module imports nothing, so the relay reads its linger without the projection machinery.
"""

from __future__ import annotations

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
