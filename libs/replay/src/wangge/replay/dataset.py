"""The dataset on disk: Hive-partitioned files, written so that a run killed at any point and run
again leaves what one clean run leaves.

Each source partition (a Kafka partition, or an event table) is read in chunks of a fixed
offset range: chunk ``k`` holds the events at offsets ``[k*C, (k+1)*C)`` within the export's
bounds. A chunk's rows go to one file per (type, month), named by the source partition and the
chunk's first offset, so the same events always make the same files with the same names. Each
file is written under a temporary name, flushed to disk and renamed; only then does the source
partition's checkpoint move past the chunk. A run that dies mid-chunk leaves some of the chunk's
files and no checkpoint past it: the next run writes the chunk again, file for file the same.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

STATE = "_replay"
"""The run's own files inside the dataset (manifest, checkpoints): readers skip names that
start with an underscore, as Hive, Spark and DuckDB do."""
FORMATS = ("parquet", "jsonl")


class DatasetError(ValueError):
    """A dataset folder that does not fit the run asked for."""


@dataclass(frozen=True)
class Bounds:
    """The offsets one source partition is exported between: ``[start, end)``."""

    start: int
    end: int


@dataclass(frozen=True)
class Manifest:
    """What an export is: fixed by its first run, so a rerun finishes the same dataset."""

    sources: Mapping[str, Mapping[int, Bounds]]
    """topic -> partition -> bounds"""
    format: str
    chunk: int
    policy: str
    """the policy's digest"""
    key: str
    """the export key's id"""
    since: str | None
    until: str | None

    def to_json(self) -> dict[str, Any]:
        """The manifest file's content."""
        data = asdict(self)
        data["sources"] = {
            topic: {str(p): asdict(b) for p, b in parts.items()}
            for topic, parts in self.sources.items()
        }
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """The inverse of :meth:`to_json`."""
        sources = {
            topic: {int(p): Bounds(**b) for p, b in parts.items()}
            for topic, parts in data["sources"].items()
        }
        return cls(
            sources,
            data["format"],
            data["chunk"],
            data["policy"],
            data["key"],
            data.get("since"),
            data.get("until"),
        )

    def same_export(self, other: Manifest) -> list[str]:
        """What differs between this export and ``other`` apart from where they end."""
        differ = [
            name
            for name in ("format", "chunk", "policy", "key", "since", "until")
            if getattr(self, name) != getattr(other, name)
        ]
        if set(self.sources) != set(other.sources):
            differ.append("topics")
        return differ

    def units(self) -> Iterator[tuple[str, int, Bounds]]:
        """Every source partition with its bounds."""
        for topic, parts in sorted(self.sources.items()):
            for partition, bounds in sorted(parts.items()):
                yield topic, partition, bounds


def write_atomically(path: Path, content: bytes) -> None:
    """Write a whole file or nothing: a temporary name, flushed, renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


class Dataset:
    """A dataset folder: its manifest, its checkpoints and its files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = root / STATE

    @property
    def manifest_path(self) -> Path:
        """Where the manifest is kept."""
        return self.state / "manifest.json"

    def manifest(self) -> Manifest | None:
        """The manifest of the export in this folder, if one was started."""
        if not self.manifest_path.exists():
            return None
        return Manifest.from_json(json.loads(self.manifest_path.read_text(encoding="utf-8")))

    def check(self, manifest: Manifest) -> None:
        """Raise :class:`DatasetError` unless this folder can hold the export: empty, or the same
        export begun (its policy, key, span and format)."""
        started = self.manifest()
        if started is None:
            if self.root.exists() and any(p.name != STATE for p in self.root.iterdir()):
                raise DatasetError(f"{self.root} holds other files: choose an empty folder")
            return
        differ = started.same_export(manifest)
        if differ:
            raise DatasetError(
                f"{self.root} holds an export with other {', '.join(differ)}: choose another folder"
            )

    def begin(self, manifest: Manifest, *, extend: bool = False) -> Manifest:
        """Start an export here, or go on with the one started: the manifest of the first run
        decides (with ``extend``, its ends move to ``manifest``'s)."""
        self.check(manifest)
        for left in self.root.glob("**/.*.tmp-*"):  # a killed run's half-written file
            left.unlink(missing_ok=True)
        started = self.manifest()
        if started is not None:
            if not extend:
                return started
            manifest = extended(started, manifest)
        write_atomically(
            self.manifest_path, json.dumps(manifest.to_json(), indent=2, sort_keys=True).encode()
        )
        return manifest

    def note_run(self, export_id: str) -> None:
        """Keep the record of one run of the export (``_replay/runs.jsonl``): which recorded
        export wrote here, for whoever finds the files later."""
        self.state.mkdir(parents=True, exist_ok=True)
        with open(self.state / "runs.jsonl", "a", encoding="utf-8") as runs:
            runs.write(json.dumps({"export_id": export_id}) + "\n")

    def _checkpoint_path(self, topic: str, partition: int) -> Path:
        return self.state / "checkpoints" / f"{topic}-{partition}.json"

    def checkpoint(self, topic: str, partition: int) -> int | None:
        """The offset before which every chunk of a source partition is written."""
        path = self._checkpoint_path(topic, partition)
        if not path.exists():
            return None
        return int(json.loads(path.read_text(encoding="utf-8"))["next"])

    def save_checkpoint(self, topic: str, partition: int, next_offset: int) -> None:
        """Every chunk before ``next_offset`` is written."""
        write_atomically(
            self._checkpoint_path(topic, partition), json.dumps({"next": next_offset}).encode()
        )

    def done(self, manifest: Manifest) -> int:
        """How many of the export's offsets are written (for progress)."""
        total = 0
        for topic, partition, bounds in manifest.units():
            written = self.checkpoint(topic, partition)
            reached = written if written is not None else bounds.start
            total += max(0, min(reached, bounds.end) - bounds.start)
        return total

    def finished(self, manifest: Manifest) -> bool:
        """Whether every source partition is written to its end."""
        return all(
            (self.checkpoint(topic, p) or bounds.start) >= bounds.end
            for topic, p, bounds in manifest.units()
        )

    def write_chunk(
        self,
        topic: str,
        partition: int,
        first_offset: int,
        tables: Mapping[tuple[str, str], pa.Table],
        format: str,
    ) -> int:
        """Write one chunk's rows, a file per (type, month); the number of files."""
        for (event_type, month), table in sorted(tables.items()):
            folder = self.root / f"topic={topic}" / f"type={event_type}" / f"month={month}"
            name = f"part-{partition:04d}-{first_offset:012d}.{format}"
            write_atomically(folder / name, _encode(table, format))
        return len(tables)

    def clear(self) -> None:
        """Remove the export (``--fresh``)."""
        if self.root.exists():
            shutil.rmtree(self.root)


def extended(started: Manifest, now: Manifest) -> Manifest:
    """``started`` with its ends moved to ``now``'s (and partitions added since)."""
    sources: dict[str, dict[int, Bounds]] = {}
    for topic, parts in now.sources.items():
        old = started.sources.get(topic, {})
        sources[topic] = {
            p: Bounds(old[p].start, max(old[p].end, b.end)) if p in old else b
            for p, b in parts.items()
        }
    return Manifest(
        sources,
        started.format,
        started.chunk,
        started.policy,
        started.key,
        started.since,
        started.until,
    )


def _json_value(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _encode(table: pa.Table, format: str) -> bytes:
    if format == "jsonl":
        lines = (
            json.dumps(row, ensure_ascii=False, sort_keys=True, default=_json_value)
            for row in table.to_pylist()
        )
        return ("\n".join(lines) + "\n").encode()
    sink = pa.BufferOutputStream()
    # zstd finds a column's repeats by itself: dictionary pages made the year's files 10%
    # larger (hashed ids repeat little) and their writing 40% slower
    pq.write_table(table, sink, compression="zstd", use_dictionary=False)
    return bytes(sink.getvalue())
