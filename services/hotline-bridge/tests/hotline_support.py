"""Fixtures for the hotline bridge's tests: the service running on both backends, signed pushes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from wangge.hotline_bridge.app import MIGRATIONS, build_app
from wangge.hotline_bridge.config import HotlineSettings
from wangge.hotline_bridge.signing import SIGNATURE, TIMESTAMP, sign
from wangge.service.testing import Running, backend_settings, started

Hotline = Running[HotlineSettings]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hotline_settings(request: pytest.FixtureRequest, tmp_path: Path) -> HotlineSettings:
    """The embedded default and PostgreSQL (a schema per test); never Kafka here."""
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    return backend_settings(HotlineSettings, request.param, tmp_path, url, "hot")


@pytest.fixture
async def hotline(hotline_settings: HotlineSettings) -> AsyncIterator[Hotline]:
    async with started(hotline_settings, build_app, MIGRATIONS) as running:
        yield running


def ticket(**fields: Any) -> dict[str, Any]:
    """A push of the standard format; ``fields`` replace or add to it."""
    body: dict[str, Any] = {
        "ticket_number": f"GD{uuid.uuid4().hex[:12].upper()}",
        "channel": "phone",
        "received_at": "2026-11-27T09:30:00+08:00",
        "caller": {"name": "王小明", "phone": "13812345678"},
        "category_code": "0301",
        "content": "楼下餐馆晚上十点后仍在营业 油烟和噪声扰民",
        "address": "江苏省南京市建邺区沿江街道滨江社区1栋1单元101室",
        "location": {"longitude": 118.7301, "latitude": 32.0412},
        "urgency": "normal",
    }
    body.update(fields)
    return body


async def push(
    hotline: Hotline,
    body: dict[str, Any] | bytes,
    *,
    secret: bytes | None = None,
    at: int | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Push a ticket as the hotline does: signed, with a hotline_system token."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    sent = int(time.time()) if at is None else at
    signature = sign(secret or hotline.settings.signing_secret(), sent, raw)
    return await hotline.client.post(
        "/tickets",
        content=raw,
        headers={
            "Content-Type": "application/json",
            TIMESTAMP: str(sent),
            SIGNATURE: signature,
            **hotline.as_("hotline_system", subject="hotline-12345"),
            **(headers or {}),
        },
    )
