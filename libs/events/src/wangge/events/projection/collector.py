"""The cyclic garbage collector while projections are rebuilt: a replay keeps a batch's objects
alive across many young passes, which the default settings made walk the whole process."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_OBJECTS_DURING_REBUILD = 50_000
"""The collector's first threshold while a rebuild runs (700 otherwise): a batch's records,
envelopes, events and rows (a few tens of thousands of objects) live until the batch is written,
so with 700 the young passes ran a hundred times a batch, each walking what they found alive
and passing it on to the middle generation, whose passes walked it again: a tenth of a rebuild's
time, for objects nearly all freed by their reference counts at the batch's end. Cyclic garbage
still counts towards the threshold, so at most this many objects wait for a pass."""


class Collector:
    """The cyclic garbage collector's settings while rebuilds run, put back as they were when the
    last of them ends (rebuilds may run side by side in one process; its collector is one).

    What the process held when the first rebuild started is set aside (``gc.freeze``): a
    replay's batches keep thousands of objects alive across the young passes, so a full pass
    came every batch or two and walked every object of the process (a quarter of a million),
    half of a rebuild's time; the whole rebuild, since a full pass while its tables are defined
    cost a tenth of a small rebuild too. They are put back after, unless the process keeps its
    objects frozen anyway (a served process freezes what it loaded: ``wangge.service.serve``).
    """

    def __init__(self) -> None:
        self.running = 0
        self.frozen_before = False
        self.thresholds: tuple[int, int, int] = gc.get_threshold()

    @contextlib.contextmanager
    def set_aside(self) -> Iterator[None]:
        if self.running == 0:
            self.frozen_before = gc.get_freeze_count() > 0
            self.thresholds = gc.get_threshold()
            young, middle, old = self.thresholds
            if young:  # 0: automatic collection is off, and stays so
                gc.set_threshold(max(young, YOUNG_OBJECTS_DURING_REBUILD), middle, old)
        self.running += 1
        gc.freeze()
        try:
            yield
        finally:
            self.running -= 1
            if self.running == 0:
                gc.set_threshold(*self.thresholds)
                if not self.frozen_before:
                    gc.unfreeze()


REBUILDS = Collector()
"""The one process-wide record of the rebuilds running (the collector is one per process)."""
