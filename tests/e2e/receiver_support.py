"""A hotline callback that fails on purpose (refusals, lost acknowledgements, answers slower
than the bridge's timeout) and keeps one reply per idempotency key, as a real hotline would."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, verify


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PORT = _free_port()
CALLBACK = f"http://127.0.0.1:{PORT}/replies"


@dataclass
class Receiver:
    """The hotline's callback, misbehaving: it keeps one reply per idempotency key."""

    secret: bytes = b""
    mode: str = "flaky"
    rng: random.Random = field(default_factory=lambda: random.Random(12345))
    arrivals: Counter[str] = field(default_factory=Counter)
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)

    async def replies(self, request: Request) -> Response:
        body = await request.body()
        verify(
            self.secret, timestamp=request.headers.get(TIMESTAMP),
            signature=request.headers.get(SIGNATURE), body=body,
            now=time.time(), tolerance=300,
        )  # fmt: skip
        key = request.headers["Idempotency-Key"]
        reply = json.loads(body)
        assert reply["delivery_id"] == key
        self.arrivals[key] += 1
        roll = {"flaky": self.rng.random(), "down": 0.0}.get(self.mode, 1.0)
        if roll < 0.3:
            self.outcomes["refused"] += 1
            return JSONResponse({"error": "busy"}, status_code=503)
        self.kept.setdefault(key, reply)  # what the hotline keeps: once per key
        if roll < 0.5:
            self.outcomes["ack lost"] += 1
            return JSONResponse({"error": "taken, but the answer fails"}, status_code=500)
        if roll < 0.6:
            self.outcomes["too slow"] += 1
            await asyncio.sleep(0.5)  # beyond the bridge's timeout: it cannot know it was taken
        else:
            self.outcomes["ok"] += 1
        return JSONResponse({"received": key})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/replies", receiver.replies, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=PORT, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no event for "listening"
        if server.started:
            break
        await asyncio.sleep(0.01)
    yield receiver
    server.should_exit = True
    await task


FAST = {
    "callback_url": CALLBACK,
    "delivery_base_seconds": 0.05,
    "delivery_cap_seconds": 0.2,
    "delivery_poll_seconds": 0.05,
    "delivery_timeout_seconds": 0.25,
    "delivery_max_attempts": 40,
}
