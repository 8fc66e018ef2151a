"""``/metrics``: every service's Prometheus metrics, for the operators' scraper.

HTTP requests are counted and timed by route template (``/tickets/{ticket_id}``, never the
path a caller sent: one series per route, not per ticket), in plain ASGI middleware so a request
pays two clock reads and two dictionary look-ups. What lags (the relay behind the event table,
each projection behind its sources) and what waits for a person (parked events, a service's own
gauges such as overdue tickets) is read when the scraper asks, from the same sources
``/readyz`` reads; one that cannot be read in time is left out of that scrape rather than
reported as zero. Domain reports (the hotline's 三率) live on routes of their own.

The path needs no token: it carries counts, names of routes and projections, never a person's
data; who may reach it is the network's business (deploy/k8s's NetworkPolicy lets only the
monitoring namespace in).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wangge.events.kafka import topic_for
from wangge.events.relay import relay_name

if TYPE_CHECKING:
    from wangge.service.app import ServiceState

REQUESTS = Counter(
    "wangge_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["service", "method", "route", "status"],
)
LATENCY = Histogram(
    "wangge_http_request_duration_seconds",
    "Time from a request's arrival to its response's last byte, by route template.",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UNMATCHED = "unmatched"
"""The route label of a request no route took (a 404 of an unknown path, a static file)."""

SCRAPE_SECONDS = 2.0
"""How long a scrape waits for what it reads at scrape time (the scraper's own timeout is
10 s by default; lags from Kafka end offsets take a round trip)."""

Gauges = Callable[["ServiceState"], Awaitable[Iterable[Metric]]]
"""A service's own gauges, read at scrape time from its read models (e.g. overdue tickets)."""


class HttpMetrics:
    """Counts and times every HTTP request of one service by its route template."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes everything is answered 500 by the server

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            # the router put the matched route in the scope (FastAPI's APIRoute does)
            route = getattr(scope.get("route"), "path", UNMATCHED)
            method = scope["method"]
            REQUESTS.labels(self.service, method, route, str(status)).inc()
            LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)


class _Scrape(Collector):
    """One scrape: the process's counters, then the gauges read for it (one registry, so that
    OpenMetrics's single ``# EOF`` ends it)."""

    def __init__(self, read: Sequence[Metric]) -> None:
        self.read = read

    def collect(self) -> Iterable[Metric]:
        yield from REGISTRY.collect()
        yield from self.read


async def _within(read: Awaitable[Any]) -> Any:
    """What ``read`` gives within a scrape's patience, or None (left out of this scrape)."""
    try:
        async with asyncio.timeout(SCRAPE_SECONDS):
            return await read
    except Exception:
        return None


async def _event_gauges(state: ServiceState) -> list[Metric]:
    from wangge.service.app import parked_now, projection_lag  # app imports this module

    service = state.settings.service
    out: list[Metric] = []
    lag = GaugeMetricFamily(
        "wangge_projection_lag_events",
        "Events a projection's sources hold that it has not applied yet (its consumers' lags "
        "added up).",
        labels=["service", "projection"],
    )
    for name, behind in (await projection_lag(state.runners)).items():
        if behind is not None:
            lag.add_metric([service, name], behind)
    out.append(lag)
    parked = GaugeMetricFamily(
        "wangge_projection_parked_now",
        "Events parked now, waiting for an operator's retry or skip, by projection.",
        labels=["service", "projection"],
    )
    for name, count in (await parked_now(state) or {}).items():
        parked.add_metric([service, name], count)
    out.append(parked)
    relay = GaugeMetricFamily(
        "wangge_relay_lag_events",
        "Events in the service's event table the relay has not published yet (Kafka "
        "deployments; the relay may run in another process: its checkpoint is in the table).",
        labels=["service"],
    )
    if state.settings.kafka_bootstrap_servers:
        behind = await _within(
            state.store.behind(
                relay_name(topic_for(state.settings.service, state.settings.kafka_namespace))
            )
        )
        if behind is not None:
            relay.add_metric([service], behind)
    out.append(relay)
    return out


def router(gauges: Sequence[Gauges] = ()) -> APIRouter:
    """The ``/metrics`` route, with the service's own gauges besides the kit's."""
    made = APIRouter(tags=["operations"])

    @made.get(
        "/metrics",
        summary="Prometheus metrics (text exposition format)",
        response_class=Response,
        responses={
            200: {
                "description": "the metrics, in the format the Accept header asks for",
                "content": {
                    "text/plain": {"schema": {"type": "string"}},
                    "application/openmetrics-text": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def metrics(request: Request) -> Response:
        """Requests and latency by route, appends, relay publications and lag, projection lag
        and parked events, and the service's own gauges; see docs/operations.md."""
        state: ServiceState = request.app.state.service
        read: list[Metric] = list(await _event_gauges(state))
        for own in gauges:
            found = await _within(own(state))
            read.extend(found or ())
        scrape = CollectorRegistry(auto_describe=False)
        scrape.register(_Scrape(read))
        # Prometheus asks for OpenMetrics or the text format by its Accept header
        encode, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(scrape), headers={"Content-Type": content_type})

    return made
