"""One source partition's export: its events gathered a chunk at a time, each chunk written
whole and then checkpointed (see :mod:`wangge.replay.dataset`)."""

from __future__ import annotations

import operator
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pyarrow as pa

from wangge.replay.dataset import Bounds, Dataset
from wangge.replay.rows import Record, Rows

_OFFSET = operator.attrgetter("offset")


class Chunk(Protocol):
    """What one chunk's events are gathered in, until its tables are made."""

    def add(self, items: Sequence[Any]) -> None:
        """Gather events of the chunk, offsets rising (records, or what a reader read)."""

    def __bool__(self) -> bool:
        """Whether it holds an event."""
        ...

    def tables(self, rows: Rows) -> dict[tuple[str, str], pa.Table]:
        """Its events' tables, by type and month."""
        ...


class RecordChunk:
    """A chunk of records, grouped by type and month as they come."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, str], list[Record]] = defaultdict(list)

    def add(self, items: Sequence[Record]) -> None:
        groups = self.groups
        for record in items:
            groups[(record.type, record.month)].append(record)

    def __bool__(self) -> bool:
        return bool(self.groups)

    def tables(self, rows: Rows) -> dict[tuple[str, str], pa.Table]:
        return {
            (event_type, month): rows.table(event_type, gathered)
            for (event_type, month), gathered in self.groups.items()
        }


def resume_at(bounds: Bounds, checkpoint: int | None, chunk: int) -> int:
    """Where a run reads a source partition from: the start of the chunk its checkpoint is in
    (a checkpoint inside a chunk is an export's old end: that chunk is written again, whole)."""
    if checkpoint is None or checkpoint <= bounds.start:
        return bounds.start
    if checkpoint >= bounds.end:
        return bounds.end
    return max(bounds.start, checkpoint - checkpoint % chunk)


class PartitionExport:
    """The events of one source partition between its bounds, written a chunk at a time."""

    def __init__(
        self,
        dataset: Dataset,
        rows: Rows,
        topic: str,
        partition: int,
        bounds: Bounds,
        *,
        chunk: int,
        format: str,
        gatherer: Callable[[], Chunk] = RecordChunk,
    ) -> None:
        self.dataset = dataset
        self.rows = rows
        self.topic = topic
        self.partition = partition
        self.bounds = bounds
        self.chunk = chunk
        self.format = format
        self.position = resume_at(bounds, dataset.checkpoint(topic, partition), chunk)
        """The first offset not yet gathered (for a reader to seek to)."""
        self._first = self.position
        self._gatherer = gatherer
        self._gathered = gatherer()
        self.events = 0
        """Events gathered by this run (for progress and the bench)."""

    @property
    def done(self) -> bool:
        """Whether the partition is written to its end."""
        return self.position >= self.bounds.end and not self._gathered

    def _chunk_end(self, offset: int) -> int:
        return min(self.bounds.end, offset - offset % self.chunk + self.chunk)

    def add(self, items: Sequence[Any]) -> None:
        """Gather events read in a row, offsets rising (records, or messages of the reader's
        gatherer); those outside the bounds, or gathered before, are ignored."""
        count = len(items)
        at = bisect_left(items, self.position, key=_OFFSET)
        while at < count:
            offset = items[at].offset
            if offset >= self.bounds.end:
                return
            end = self._chunk_end(self._first)
            if offset >= end:
                self._flush(end)
                self._first = max(self.bounds.start, offset - offset % self.chunk)
                continue
            upto = bisect_left(items, end, lo=at, key=_OFFSET)
            self._gathered.add(items[at:upto])
            self.position = items[upto - 1].offset + 1
            self.events += upto - at
            at = upto

    def reached(self, position: int) -> None:
        """The reader's next offset is ``position`` (past control records, or the end)."""
        if self.done:
            return
        if position >= self.bounds.end:
            self.position = self.bounds.end
            self._flush(self.bounds.end)
        elif position >= self._chunk_end(self._first):
            self._flush(self._chunk_end(self._first))
            self.position = max(self.position, position)
            self._first = max(self.bounds.start, position - position % self.chunk)

    def _flush(self, checkpoint: int) -> None:
        if self._gathered:
            tables = self._gathered.tables(self.rows)
            self._gathered = self._gatherer()
            self.dataset.write_chunk(self.topic, self.partition, self._first, tables, self.format)
        self.dataset.save_checkpoint(self.topic, self.partition, checkpoint)
