"""One replay export in a process of its own, for ``benchmarks.replay``: it imports only the
replay (the bench's own modules import every service, which its memory would be measured with).
Prints the summary as JSON."""

from __future__ import annotations

import asyncio
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


if __name__ == "__main__":
    asyncio.run(_export(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4:]))
