"""``/healthz`` (the process is alive) and ``/readyz`` (it can serve: database, Kafka, lag)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from wangge.service.problems import OUTAGE_RETRY_AFTER

ReadinessCheck = Callable[[], Awaitable[dict[str, Any]]]
"""Returns details when ready; raises when not (the message becomes the check's detail)."""


class Check(BaseModel):
    """One readiness check's outcome."""

    ok: bool
    detail: dict[str, Any] | str


class Readiness(BaseModel):
    """Every check; ready only if all are."""

    ready: bool
    checks: dict[str, Check]


router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    """Liveness: answers as long as the event loop runs."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The service can serve requests",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "a dependency is not ready"}},
)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: every registered check, each with a 2-second limit."""
    checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
    results: dict[str, Check] = {}
    for name, check in checks.items():
        try:
            detail = await asyncio.wait_for(check(), timeout=2.0)
            results[name] = Check(ok=True, detail=detail)
        except Exception as error:
            results[name] = Check(ok=False, detail=f"{type(error).__name__}: {error}")
    body = Readiness(ready=all(c.ok for c in results.values()), checks=results)
    if body.ready:
        return JSONResponse(body.model_dump())
    # like every 503 of a service: a load balancer or client that reads it waits, then asks again
    retry = {"Retry-After": str(OUTAGE_RETRY_AFTER)}
    return JSONResponse(body.model_dump(), status_code=503, headers=retry)
