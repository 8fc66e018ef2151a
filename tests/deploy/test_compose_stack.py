"""The compose stack (docker-compose.yml) brought up for real on a Docker engine: a signed 12345
ticket pushed through the published port becomes a case in the grid worker's inbox and on the
grid's dashboard, and a Kafka container restarted under the flow loses and doubles nothing.

Run by ``make test-deploy`` (scripts/deploy/test.sh), which starts the engine and builds the
image and the stand-in base images first; ``make test`` leaves it out (the ``deploy`` marker).
The stack runs under a compose project of its own and is taken down with its volumes at the end,
also when the test fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from wangge.registry.synthetic.generator import Generator

from system_clients import signature_headers, ticket

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
PORTS = {"registry": 8001, "hotline-bridge": 8002, "cases": 8003, "training": 8004, "views": 8005}
SUBDISTRICT = "320111001"
UP_SECONDS = 600.0
"""How long a cold stack may take to be ready: images start, migrations, the seed, the topics."""
SETTLE_SECONDS = 120.0
"""How long the flow may take to catch up after the broker restarted."""

T = TypeVar("T")


def compose_command() -> list[str]:
    """Compose v2 when the engine has the plugin, else Debian's docker-compose 1.29."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("neither `docker compose` nor docker-compose is installed (make test-deploy)")


@dataclass
class Stack:
    """A running compose project and what the test needs to call it."""

    compose: list[str]
    environment: dict[str, str]
    hotline_secret: str

    def run(self, *args: str, timeout: float = 300.0) -> str:
        """A compose command's output; a failure fails the test with what it printed."""
        done = subprocess.run(
            [*self.compose, *args],
            cwd=ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr}")
        return done.stdout

    def token(self, role: str, *, places: list[str], subject: str) -> dict[str, str]:
        """A bearer token of the stack's dev issuer, made inside the registry's container."""
        args = ["exec", "-T", "registry", "wangge", "token", "--role", role]
        for place in places:
            option = "--grid" if place.count("-") == 2 else "--subdistrict"
            args += [option, place]
        value = self.run(*args, "--subject", subject).strip()
        return {"Authorization": f"Bearer {value}"}


def url(service: str, path: str) -> str:
    return f"http://127.0.0.1:{PORTS[service]}{path}"


def eventually(check: Callable[[], T | None], *, seconds: float, what: str) -> T:
    """The first result of ``check`` that is not None (or False), within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
        except httpx.TransportError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:.0f} s")
        time.sleep(1.0)


def ready(service: str) -> Callable[[], bool]:
    """Whether the service answers its readiness probe (database, migrations, Kafka)."""
    return lambda: httpx.get(url(service, "/readyz"), timeout=5).status_code == 200


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    project = f"wangge-test-{uuid.uuid4().hex[:8]}"
    hotline_secret = secrets.token_hex(16)
    environment = {
        **os.environ,
        "COMPOSE_PROJECT_NAME": project,
        # the smallest seed: four grids, a worker on each
        "WANGGE_REGISTRY_SEED": "tiny",
        "WANGGE_HOTLINE_SIGNING_SECRET": hotline_secret,
        "WANGGE_SECRET_KEY": secrets.token_hex(16),
        "POSTGRES_PASSWORD": secrets.token_hex(12),
        "WANGGE_DB_PASSWORD": secrets.token_hex(12),
    }
    running = Stack([*compose_command(), "--project-name", project], environment, hotline_secret)
    try:
        running.run("up", "--detach", "--no-build", timeout=UP_SECONDS)
        for service in PORTS:
            eventually(ready(service), seconds=UP_SECONDS, what=f"{service} ready")
        yield running
    except BaseException:
        print(running.run("ps", timeout=60))
        print(running.run("logs", "--no-color", "--tail=60", timeout=120))
        raise
    finally:
        running.run("down", "--volumes", "--remove-orphans", "--timeout", "20", timeout=300)


def push(stack: Stack, token: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    """A signed push of the hotline, retried while the bridge does not answer (a push is
    idempotent by its ticket number); its answer."""
    raw = httpx.Request("POST", "http://x", json=body).content

    def once() -> dict[str, Any] | None:
        headers = {
            "Content-Type": "application/json",
            **signature_headers(stack.hotline_secret, raw),
            **token,
        }
        answer = httpx.post(url("hotline-bridge", "/tickets"), content=raw, headers=headers)
        if answer.status_code == 503:
            return None
        assert answer.status_code in (200, 201), answer.text
        result: dict[str, Any] = answer.json()
        return result

    return eventually(once, seconds=SETTLE_SECONDS, what="the push answered")


def test_a_pushed_ticket_becomes_a_case_and_a_kafka_restart_loses_and_doubles_nothing(
    stack: Stack,
) -> None:
    generator = Generator(size="tiny")
    first = next(generator.residents())
    grid_code = first["grid_code"]
    community = next(
        c.name for c in generator.subdistrict().communities if grid_code.startswith(c.code)
    )
    address = (
        f"江苏省南京市建邺区沿江街道{community}"
        f"{first['building_number']}{first['unit_number']}{first['dwelling_number']}室"
    )
    hotline = stack.token("hotline_system", places=[], subject="hotline-12345")
    admin = stack.token("subdistrict_admin", places=[SUBDISTRICT], subject="centre")
    worker = stack.token("grid_worker", places=[grid_code], subject=f"worker-{grid_code}")
    routed: list[str] = []
    unrouted = 0

    def routed_push() -> dict[str, Any] | None:
        nonlocal unrouted
        answer = push(stack, hotline, ticket(address=address))
        if answer.get("grid_id") is None:
            unrouted += 1  # the bridge's grid map has not caught up with the seed yet
            return None
        routed.append(answer["ticket_id"])
        return answer

    # the cases service learns the worker (roster) and the tickets from two topics: a first
    # ticket may open its case before the roster has the worker, so the flow is settled first
    grid_id = eventually(routed_push, seconds=SETTLE_SECONDS, what="a ticket routed")["grid_id"]

    def roster_has_the_worker() -> bool:
        answer = httpx.post(
            url("cases", "/cases"),
            headers={**admin, "Idempotency-Key": f"probe-{uuid.uuid4().hex}"},
            json={"kind": "hazard", "source": "walk_in", "title": "巡查", "grid_id": grid_id},
        )
        return answer.status_code == 201 and answer.json()["account"] == f"worker-{grid_code}"

    eventually(roster_has_the_worker, seconds=SETTLE_SECONDS, what="the roster has the worker")

    def inbox() -> Counter[str]:
        answer = httpx.get(url("cases", "/inbox"), headers=worker)
        assert answer.status_code == 200, answer.text
        return Counter(c["ticket_id"] for c in answer.json()["cases"] if c["ticket_id"])

    before = eventually(routed_push, seconds=60, what="a ticket routed")["ticket_id"]
    eventually(lambda: before in inbox(), seconds=SETTLE_SECONDS, what="the case in the inbox")

    # the broker restarts while tickets come in: the services' relays and projections wait it out
    restart = subprocess.Popen(
        [*stack.compose, "restart", "kafka"], cwd=ROOT, env=stack.environment
    )
    try:
        during = eventually(routed_push, seconds=60, what="a ticket routed")["ticket_id"]
    finally:
        assert restart.wait(timeout=300) == 0, "the Kafka container did not restart"
    after = eventually(routed_push, seconds=60, what="a ticket routed")["ticket_id"]

    def all_in_inbox() -> Counter[str] | None:
        shown = inbox()
        return shown if {before, during, after} <= set(shown) else None

    shown = eventually(all_in_inbox, seconds=SETTLE_SECONDS, what="every case in the inbox")
    assert all(shown[t] == 1 for t in (before, during, after)), shown

    def dashboard_counts_them() -> int | None:
        answer = httpx.get(url("views", f"/grids/{grid_code}/dashboard"), headers=admin)
        if answer.status_code != 200:
            return None
        complaints: int = answer.json()["current"]["cases"]["by_kind"].get("complaint", 0)
        return complaints if complaints >= len(routed) else None

    complaints = eventually(
        dashboard_counts_them, seconds=SETTLE_SECONDS, what="the cases on the grid's dashboard"
    )
    # a ticket that waited in triage may be routed later by the bridge's sweeper, and counted
    assert complaints == len(routed) or (unrouted and complaints <= len(routed) + unrouted)
