"""Projections: read models built from events, with exactly-once effect whatever crashes.

A projection declares one handler per event type it cares about and ignores the rest
(``declaring``). The runner applies a source's batches to it, each in one transaction with the
source positions, and rebuilds it into a fresh generation of its tables (``runner``), under
locks that keep two processes from applying the same events side by side (``locking``); the
service's own read models are also applied in each command's transaction (``inline``); readers
query the active generation's tables (``generations``). The runner's own tables are in
``wangge.events.runner_state``, its sources in ``wangge.events.sources``, parked events in
``wangge.events.parking``, and its timings in ``wangge.events.tuning``.
"""

from wangge.events.projection.declaring import ApplyContext, Handler, Projection, handles
from wangge.events.projection.generations import (
    active_generation,
    active_generations,
    active_tables,
)
from wangge.events.projection.inline import InlineOnce, apply_inline
from wangge.events.projection.runner import ProjectionRunner
from wangge.events.runner_state import GenerationMemo
from wangge.events.tuning import (
    GENERATION_MEMO_SECONDS,
    LINGER_SECONDS,
    REACTIONS_PER_TRANSACTION,
)

__all__ = [
    "GENERATION_MEMO_SECONDS",
    "LINGER_SECONDS",
    "REACTIONS_PER_TRANSACTION",
    "ApplyContext",
    "GenerationMemo",
    "Handler",
    "InlineOnce",
    "Projection",
    "ProjectionRunner",
    "active_generation",
    "active_generations",
    "active_tables",
    "apply_inline",
    "handles",
]
