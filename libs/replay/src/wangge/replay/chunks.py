"""One source partition's export: its events gathered a chunk at a time, each chunk written
whole and then checkpointed (see :mod:`wangge.replay.dataset`)."""

from __future__ import annotations

from collections import defaultdict

from wangge.replay.dataset import Bounds, Dataset
from wangge.replay.rows import Record, Rows


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
        self._groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
        self.events = 0
        """Events gathered by this run (for progress and the bench)."""

    @property
    def done(self) -> bool:
        """Whether the partition is written to its end."""
        return self.position >= self.bounds.end and not self._groups

    def _chunk_end(self, offset: int) -> int:
        return min(self.bounds.end, offset - offset % self.chunk + self.chunk)

    def add(self, record: Record) -> None:
        """Gather one event (offsets rise; one outside the bounds is ignored)."""
        offset = record.offset
        if offset < self.position or offset >= self.bounds.end:
            return
        if offset >= self._chunk_end(self._first):
            self._flush(self._chunk_end(self._first))
            self._first = max(self.bounds.start, offset - offset % self.chunk)
        self._groups[(record.type, record.month)].append(record)
        self.position = offset + 1
        self.events += 1

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
        if self._groups:
            tables = {
                (event_type, month): self.rows.table(event_type, gathered)
                for (event_type, month), gathered in self._groups.items()
            }
            self._groups = defaultdict(list)
            self.dataset.write_chunk(self.topic, self.partition, self._first, tables, self.format)
        self.dataset.save_checkpoint(self.topic, self.partition, checkpoint)
