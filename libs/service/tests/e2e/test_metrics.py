"""``/metrics`` through HTTP, as Prometheus scrapes it: requests by route template, appends,
projection lag and parked events on both backends; with Kafka, the relay's lag and publications.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)

from wangge.events.db import create_engine
from wangge.events.relay import OutboxRelay
from wangge.events.store import open_store
from wangge.service import ServiceSettings
from wangge.service.testing import Scraped, own_schema, sample, scraped

from service_sample import CounterTotals, catalogue, router, sample_app, sample_settings, serving


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> ServiceSettings:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    # a service name of its own: the counters are the process's, shared with other tests
    return sample_settings(
        request.param, tmp_path, url, "metrics", service=f"m{uuid.uuid4().hex[:8]}"
    )


@pytest.fixture
async def client(settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with own_schema(settings), serving(sample_app(settings)) as client:
        yield client


async def test_requests_are_counted_by_route_template_method_and_status(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    service = settings.service
    for n in (1, 2):
        assert (await client.post(f"/counters/{uuid.uuid4().hex}/ticks", json={"n": n})).is_success
    assert (await client.post("/counters/x/ticks", json={"n": 0})).status_code == 422
    assert (await client.get(f"/nowhere/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/counters/-/boom")).status_code == 500
    samples = await scraped(client)
    ticks = {"service": service, "method": "POST", "route": "/counters/{counter_id}/ticks"}
    assert sample(samples, "wangge_http_requests_total", **ticks, status="201") == 2
    assert sample(samples, "wangge_http_requests_total", **ticks, status="422") == 1
    unmatched = {"service": service, "method": "GET", "route": "unmatched", "status": "404"}
    assert sample(samples, "wangge_http_requests_total", **unmatched) == 1
    boom = {"service": service, "method": "GET", "route": "/counters/-/boom", "status": "500"}
    assert sample(samples, "wangge_http_requests_total", **boom) == 1
    timed = {"service": service, "method": "POST", "route": "/counters/{counter_id}/ticks"}
    assert sample(samples, "wangge_http_request_duration_seconds_count", **timed) == 3
    assert sample(samples, "wangge_http_request_duration_seconds_sum", **timed) > 0
    # one series per route, never per path a caller sent
    paths = {dict(labels).get("route") for (_, labels) in samples}
    assert not any(
        p and p.startswith("/counters/") and "{" not in p and "-" not in p for p in paths
    )


async def test_appends_are_counted_once_and_the_projection_lag_and_parked_events_shown(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    service = settings.service
    key = {"Idempotency-Key": f"tick-{uuid.uuid4()}"}
    counter = uuid.uuid4().hex
    for _ in range(2):  # the retry appends nothing
        await client.post(f"/counters/{counter}/ticks", json={"n": 2}, headers=key)
    await client.post(f"/counters/{uuid.uuid4().hex}/ticks", json={"n": CounterTotals.UNLUCKY})
    samples: Scraped = {}
    for _ in range(100):  # the runner parks the unlucky tick and catches up with the rest
        samples = await scraped(client)
        at = {"service": service, "projection": "counter_totals"}
        lag = samples.get(("wangge_projection_lag_events", frozenset(at.items())))
        if lag == 0 and sample(samples, "wangge_projection_parked_now", **at) == 1:
            break
        await asyncio.sleep(0.05)
    assert sample(samples, "wangge_events_appended_total", service=service) == 2
    assert samples.get(("wangge_projection_lag_events", frozenset(at.items()))) == 0
    assert sample(samples, "wangge_projection_parked_now", **at) == 1
    assert (
        sample(samples, "wangge_projection_parked_events_total", projection="counter_totals") >= 1
    )
    # embedded: no relay, so no relay lag to report
    assert not any(name == "wangge_relay_lag_events" for (name, _) in samples)


@pytest.mark.postgres
@pytest.mark.kafka
async def test_the_relays_lag_is_what_it_has_not_published_wherever_the_relay_runs(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    service = f"m{uuid.uuid4().hex[:8]}"
    settings = ServiceSettings(
        service=service,
        environment="test",
        data_dir=tmp_path,
        database_url=database_url,
        database_schema=f"metk_{uuid.uuid4().hex[:10]}",
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_partitions=1,
        kafka_namespace=f"metk{uuid.uuid4().hex[:8]}",
        relay_in_process=False,  # the relay runs as a process of its own (wangge-events relay)
    )
    async with own_schema(settings), serving(sample_app(settings, routers=[router])) as client:
        for n in (1, 2, 3):
            await client.post(f"/counters/{uuid.uuid4().hex}/ticks", json={"n": n})
        samples = await scraped(client)
        assert sample(samples, "wangge_relay_lag_events", service=service) == 3
        engine = create_engine(settings.resolved_database_url, **settings.engine_options())
        store = open_store(engine, service=service, catalogue=catalogue)
        try:
            relay = OutboxRelay(
                store,
                bootstrap_servers=kafka_bootstrap,
                topic=f"{settings.kafka_namespace}.{service}.events",
            )
            stop = asyncio.Event()
            running = asyncio.create_task(relay.run(stop))
            for _ in range(200):
                samples = await scraped(client)
                if sample(samples, "wangge_relay_lag_events", service=service) == 0:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await running
        finally:
            await engine.dispose()
        topic = {"topic": f"{settings.kafka_namespace}.{service}.events"}
        assert sample(samples, "wangge_relay_lag_events", service=service) == 0
        assert sample(samples, "wangge_relay_published_events_total", **topic) == 3


async def test_a_scraper_asking_for_openmetrics_gets_one_whole_exposition(
    client: httpx.AsyncClient, settings: ServiceSettings
) -> None:
    await client.post(f"/counters/{uuid.uuid4().hex}/ticks", json={"n": 1})
    accept = {"Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"}
    response = await client.get("/metrics", headers=accept)
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.count("# EOF") == 1 and response.text.endswith("# EOF\n")
    names = {family.name for family in openmetrics_families(response.text)}  # type: ignore[no-untyped-call]
    assert {"wangge_http_requests", "wangge_events_appended"} <= names
    assert "wangge_projection_lag_events" in names  # the gauges read for the scrape, too
