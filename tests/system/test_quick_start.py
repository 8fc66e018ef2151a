"""The README's quick start, as a new user follows it: ``make run``'s script on a fresh folder,
then the README's own shell blocks, read from the README and run as written (every ``curl``
must succeed): the token, the grid report, a signed 12345 push, the worker's inbox, the views.

The README is the test's input, so a step that stops working as written fails here. The blocks'
lines that name a placeholder (``PERSON_ID``, ``TICKET_ID``) are left out: they ask the reader for
an id of their own.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from system_support import BIN, REPO

pytestmark = pytest.mark.system
PORTS = {"registry": 8001, "hotline-bridge": 8002, "cases": 8003, "training": 8004, "views": 8005}
PLACEHOLDERS = ("PERSON_ID", "TICKET_ID")
TICKET = "GD20261207001"
START_SECONDS = 240.0
"""``make run`` on a fresh folder seeds a subdistrict and a year of training: generous on two
cores shared with other tests."""


def quick_start_blocks(readme: str) -> list[str]:
    """The shell blocks of the README's quick start after the first (``make run``, ``make
    test``)."""
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert blocks and "make run" in blocks[0], "the quick start begins with make run"
    return blocks[1:]


def _as_written(blocks: list[str]) -> str:
    """One script of the blocks, each ``curl`` made to fail on an HTTP error and to end its
    output with a newline (so each answer is a line of its own)."""
    lines = [
        line
        for block in blocks
        for line in block.replace("\\\n", " ").splitlines()
        if not any(p in line for p in PLACEHOLDERS)
    ]
    prelude = 'set -euo pipefail\ncurl() { command curl -sS --fail-with-body "$@"; echo; }\n'
    return prelude + "\n".join(lines) + "\n"


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def made_run(tmp_path: Path) -> Iterator[Path]:
    """``make run``'s script in a fresh folder (its ``./var`` empty), stopped at the end."""
    busy = [p for p in PORTS.values() if not _free(p)]
    assert not busy, f"ports {busy} are in use: the quick start needs 8001-8005"
    (tmp_path / ".venv").symlink_to(BIN.parent)
    (tmp_path / "scripts").symlink_to(REPO / "scripts")
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(
        ["bash", "scripts/run.sh"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield tmp_path
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


async def _ready(folder: Path) -> None:
    deadline = asyncio.get_running_loop().time() + START_SECONDS
    async with httpx.AsyncClient(timeout=5) as client:
        for service, port in PORTS.items():
            while True:
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    log = (folder / "run.log").read_text(errors="replace")[-3000:]
                    raise AssertionError(f"{service} not ready in {START_SECONDS} s:\n{log}")
                await asyncio.sleep(0.5)


async def _inbox(folder: Path) -> list[dict[str, Any]]:
    """The seeded first grid's worker's open cases, with a token made as the README makes it."""
    made = await asyncio.to_thread(
        subprocess.run,
        [".venv/bin/wangge", "token", "--role", "grid_worker", "--grid", "320111001-001-001",
         "--subject", "worker-320111001-001-001", "--data-dir", "var"],
        cwd=folder, check=True, capture_output=True, text=True,
    )  # fmt: skip
    token = made.stdout.strip()
    deadline = asyncio.get_running_loop().time() + 20
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            inbox = await client.get(
                "http://127.0.0.1:8003/inbox", headers={"Authorization": f"Bearer {token}"}
            )
            found: list[dict[str, Any]] = [
                c for c in inbox.json()["cases"] if c["title"].startswith(TICKET)
            ]
            if found or asyncio.get_running_loop().time() > deadline:
                return found
            await asyncio.sleep(0.5)


async def test_the_readmes_quick_start_works_as_written(made_run: Path) -> None:
    await _ready(made_run)
    script = _as_written(quick_start_blocks((REPO / "README.md").read_text(encoding="utf-8")))
    assert TICKET in script, "the quick start pushes a ticket"
    done = await asyncio.to_thread(
        subprocess.run, ["bash", "-c", script], cwd=made_run, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stderr}\n{done.stdout[-3000:]}"
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith(("{", "["))]
    grids = answers[0]
    assert isinstance(grids, list) and len(grids) == 12, "the seeded subdistrict's twelve grids"
    [pushed] = [a for a in answers if isinstance(a, dict) and a.get("ticket_number") == TICKET]
    assert pushed["status"] == "routed", pushed
    # the case reaches the inbox through the hotline bridge's events, a moment after the push
    [case] = await _inbox(made_run)
    assert (case["kind"], case["source"], case["status"]) == ("complaint", "hotline", "assigned")
