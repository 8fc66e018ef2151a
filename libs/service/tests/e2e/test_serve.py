"""A service served by uvicorn over real HTTP: it answers, logs JSON and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import uuid
from pathlib import Path

import httpx

TESTS = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _serve(data_dir: Path, *workers: str) -> tuple[asyncio.subprocess.Process, str]:
    """The sample service served by ``python -m service_sample`` on a free port, and its URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service_sample", str(port), str(data_dir), *workers,
        env=env, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


async def _until_healthy(client: httpx.AsyncClient, tries: int) -> None:
    for _ in range(tries):
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            await asyncio.sleep(0.1)


async def test_the_served_service_answers_over_http_and_stops_cleanly(tmp_path: Path) -> None:
    process, base = await _serve(tmp_path)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            await _until_healthy(client, 200)
            tick = await client.post(f"/counters/{uuid.uuid4().hex}/ticks", json={"n": 2})
            assert tick.status_code == 201
            assert (await client.get("/readyz")).json()["ready"] is True
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    # uvicorn shuts down gracefully, then re-raises the signal it caught (so -SIGTERM)
    assert process.returncode in (0, -signal.SIGTERM)
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert any("Uvicorn running" in m for m in messages), err.decode()[-2000:]
    assert "Application shutdown complete." in messages


async def test_several_worker_processes_serve_one_service(tmp_path: Path) -> None:
    process, base = await _serve(tmp_path, "2")
    counter = uuid.uuid4().hex
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            await _until_healthy(client, 300)
            ticks = await asyncio.gather(
                *(client.post(f"/counters/{counter}/ticks", json={"n": 1}) for _ in range(20))
            )
            assert sorted({t.status_code for t in ticks}) in ([201], [201, 409])
            written = sum(t.status_code == 201 for t in ticks)
            assert (await client.get(f"/counters/{counter}")).json()["total"] == written
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    started = [line for line in err.decode().splitlines() if "Started server process" in line]
    assert len(started) == 2, err.decode()[-2000:]
