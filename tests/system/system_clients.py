"""Clients of the services' APIs for the system tests: signed hotline pushes and registry
commands, retried the way a real client retries while a process is down or restarting (the same
request again, with the same ``Idempotency-Key``).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
from stdnum.cn import ric

from system_support import Process, System

CHINA = timezone(timedelta(hours=8))
PATIENCE = 120.0
"""How long a client keeps retrying one request: longer than any restart a test causes."""

Headers = Mapping[str, str] | Callable[[], Mapping[str, str]]
"""Request headers, or what makes them afresh for each attempt (a signature with its time)."""


@dataclass
class Retries:
    """How many attempts clients repeated (connection errors and 503 answers)."""

    count: int = 0


async def send(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: Headers,
    content: bytes | None = None,
    json_body: Any = None,
    patience: float = PATIENCE,
    retries: Retries | None = None,
) -> httpx.Response:
    """The first answer other than 503 to a request sent until one comes.

    A connection error (refused while the process is down, reset when it dies mid-request) or
    a 503 sends the same request again. That is safe only for a request whose retry returns the
    first result: an idempotency key, or a push idempotent by its ticket number.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    while True:
        made = headers() if callable(headers) else headers
        try:
            answer = await http.request(
                method, url, headers=dict(made), content=content, json=json_body
            )
            if answer.status_code != 503:
                return answer
            failure = f"503 {answer.text}"
        except httpx.TransportError as error:
            failure = repr(error)
        if loop.time() > deadline:
            raise AssertionError(f"{method} {url} unanswered for {patience:.0f} s: {failure}")
        if retries is not None:
            retries.count += 1
        await asyncio.sleep(0.1)


def ticket(**fields: Any) -> dict[str, Any]:
    """A push of the hotline's standard format (services/hotline-bridge/README.md), received
    now, with a random ticket number; ``fields`` replace or add to it."""
    body: dict[str, Any] = {
        "ticket_number": f"GD{uuid.uuid4().hex[:14].upper()}",
        "channel": "phone",
        "received_at": datetime.now(CHINA).replace(microsecond=0).isoformat(),
        "caller": {"name": "王小明", "phone": "13812345678"},
        "category_code": "0301",
        "content": "楼下餐馆晚上十点后仍在营业 油烟和噪声扰民",
        "address": "江苏省南京市建邺区沿江街道滨江社区12栋2单元1201室",
        "urgency": "normal",
    }
    body.update(fields)
    return body


def signature_headers(secret: str, body: bytes, *, at: int | None = None) -> dict[str, str]:
    """``X-Hotline-Timestamp`` and ``X-Hotline-Signature``: ``sha256=`` and the hex HMAC-SHA256
    of ``"<timestamp>.<body>"`` under the shared secret."""
    sent = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{sent}.".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Hotline-Timestamp": str(sent), "X-Hotline-Signature": f"sha256={digest}"}


class Hotline:
    """The 12345 platform pushing tickets to a hotline-bridge process."""

    def __init__(self, system: System, process: Process, *, retries: Retries | None = None):
        self.system = system
        self.process = process
        self.retries = retries
        self.token = system.headers("hotline_system", subject="hotline-12345")

    async def push(self, body: Mapping[str, Any]) -> httpx.Response:
        """Push a ticket, signed afresh at every attempt; retried until answered (a push is
        idempotent by its ticket number: a retry of one taken in answers 200)."""
        raw = json.dumps(body, ensure_ascii=False).encode()

        def headers() -> dict[str, str]:
            return {
                "Content-Type": "application/json",
                **signature_headers(self.system.hotline_secret, raw),
                **self.token,
            }

        return await send(
            self.system.http,
            "POST",
            f"{self.process.url}/tickets",
            headers=headers,
            content=raw,
            retries=self.retries,
        )


@dataclass(frozen=True)
class Tree:
    """One branch of a place tree: subdistrict → community → grid → building → unit →
    dwelling (their ids), and the codes of the community and the grid."""

    subdistrict: str
    community: str
    community_code: str
    grid: str
    grid_code: str
    building: str
    unit: str
    dwelling: str


class Registry:
    """A subdistrict admin sending commands to a registry process, each with an
    ``Idempotency-Key`` (kept across retries: a retry returns the first result)."""

    def __init__(
        self,
        system: System,
        process: Process,
        *,
        subdistrict: str = "320111001",
        retries: Retries | None = None,
    ) -> None:
        self.system = system
        self.process = process
        self.subdistrict = subdistrict
        self.retries = retries
        # keys are scoped to the caller: every retry must come from the same subject
        self.admin = system.headers(
            "subdistrict_admin", places=[subdistrict], subject=f"admin-{uuid.uuid4().hex[:8]}"
        )
        self._serials = itertools.count()
        self._birth = date(1950, 1, 1) + timedelta(days=random.randrange(50 * 365))

    async def command(
        self, method: str, path: str, body: Mapping[str, Any], *, key: str | None = None
    ) -> dict[str, Any]:
        """A command's answer (200 or 201); anything else fails the test with its problem."""
        key = key or f"system-{uuid.uuid4().hex}"
        answer = await send(
            self.system.http,
            method,
            f"{self.process.url}{path}",
            headers={**self.admin, "Idempotency-Key": key},
            json_body=dict(body),
            retries=self.retries,
        )
        if answer.status_code not in (200, 201):
            raise AssertionError(f"{method} {path}: {answer.status_code} {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    async def register_place(self, **body: Any) -> str:
        """A place (``kind``, ``name``, ``code`` or ``number``, ``parent_id``...); its id."""
        place_id: str = (await self.command("POST", "/places", body))["place_id"]
        return place_id

    async def register_tree(self) -> Tree:
        """沿江街道 → 滨江社区 → 第1网格 → 12栋 → 2单元 → 1201: an address the hotline bridge
        routes to the grid (by the dwelling, or by the building for any other door of 12栋)."""
        community_code = f"{self.subdistrict}-001"
        grid_code = f"{community_code}-001"
        sub = await self.register_place(kind="subdistrict", name="沿江街道", code=self.subdistrict)
        community = await self.register_place(
            kind="community", name="滨江社区", code=community_code, parent_id=sub
        )
        grid = await self.register_place(
            kind="grid", name="第1网格", code=grid_code, parent_id=community
        )
        building = await self.register_place(
            kind="building", name="12栋", number="12栋", parent_id=grid
        )
        unit = await self.register_place(
            kind="unit", name="2单元", number="2单元", parent_id=building
        )
        dwelling = await self.register_place(
            kind="dwelling", name="1201", number="1201", parent_id=unit, usage="rented"
        )
        return Tree(sub, community, community_code, grid, grid_code, building, unit, dwelling)

    async def appoint_worker(self, account: str, grids: list[str], *, name: str = "张伟") -> str:
        """A grid worker (网格员) appointed to ``grids``; their id."""
        body = {"account": account, "name": name, "grid_ids": grids, "on": "2026-01-01"}
        worker_id: str = (await self.command("POST", "/workers", body))["worker_id"]
        return worker_id

    async def register_person(self, dwelling: str, **fields: Any) -> str:
        """A resident of ``dwelling`` with a valid identity number of their own; their id."""
        body = {
            "name": "张三",
            "identity_number": self.identity_number(),
            "phone": "13812345678",
            "hukou_type": "local",
            "residence_status": "resident",
            "dwelling_id": dwelling,
            **fields,
        }
        person_id: str = (await self.command("POST", "/persons", body))["person_id"]
        return person_id

    async def register_household(self, dwelling: str, head: str, **fields: Any) -> str:
        """A household (户) at ``dwelling`` headed by ``head``; its id."""
        body = {
            "number": f"{self.subdistrict}{random.randrange(10**6):06d}",
            "type": "family",
            "dwelling_id": dwelling,
            "head_person_id": head,
            "on": "2020-05-01",
            **fields,
        }
        household_id: str = (await self.command("POST", "/households", body))["household_id"]
        return household_id

    def identity_number(self) -> str:
        """A valid 18-digit identity number no other of this client's has (GB 11643-1999)."""
        serial = next(self._serials)
        birth = self._birth + timedelta(days=serial // 500)
        body = f"320111{birth:%Y%m%d}{serial % 500 // 5:02d}{serial % 5 * 2 + 1}"
        check: str = ric.calc_check_digit(body + "0")
        return body + check
