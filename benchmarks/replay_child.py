"""One replay export, or one raw read of the same topics, in a process of its own, for
``benchmarks.replay``: it imports only the replay (the bench's own modules import every
service, which its memory would be measured with and its collector would walk). Prints what it
did as JSON.

``python -m benchmarks.replay_child export OUT KAFKA WORKERS TOPIC...``;
``python -m benchmarks.replay_child raw|raw-batch-gc KAFKA PARTITIONS TOPIC...`` (``raw-batch-gc``:
with the collector set as an export worker sets it)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path

KEY = "ef" * 32


async def _export(out: Path, kafka: str, workers: int, topics: list[str]) -> None:
    from wangge.replay.export import Options, run

    options = Options(
        out=out, key=bytes.fromhex(KEY), bootstrap_servers=kafka, topics=tuple(topics),
        workers=workers,
    )  # fmt: skip
    summary = await run(options)
    print(json.dumps({"offsets": summary.offsets, "seconds": summary.seconds}))


async def _raw(kafka: str, partitions: int, topics: list[str], batch_gc: bool) -> None:
    from benchmarks.raw_read import raw_read
    from wangge.replay.export import collector_for_batches

    with collector_for_batches() if batch_gc else contextlib.nullcontext():
        records, seconds = await raw_read(kafka, topics, partitions)
    print(json.dumps({"offsets": records, "seconds": seconds}))


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "export":
        asyncio.run(_export(Path(args[0]), args[1], int(args[2]), args[3:]))
    else:
        asyncio.run(_raw(args[0], int(args[1]), args[2:], batch_gc=mode == "raw-batch-gc"))
