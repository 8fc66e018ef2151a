"""The service kit through HTTP: problem details, idempotent commands, health, on both backends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from unittest.mock import ANY

import httpx
import pytest
import sqlalchemy as sa

from wangge.events.db import create_engine
from wangge.service import ServiceSettings
from wangge.service.devissuer import DevIssuer
from wangge.service.problems import PROBLEM_JSON
from wangge.service.testing import own_schema

from service_sample import CounterTotals, router, sample_app, sample_settings, serving


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> ServiceSettings:
    url = request.getfixturevalue("database_url") if request.param == "postgres" else None
    return sample_settings(request.param, tmp_path, url, "kit")


@pytest.fixture
async def client(settings: ServiceSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with own_schema(settings), serving(sample_app(settings)) as client:
        yield client


def counter() -> str:
    return uuid.uuid4().hex


async def test_a_command_appends_and_a_query_reads_it_back(client: httpx.AsyncClient) -> None:
    cid = counter()
    created = await client.post(f"/counters/{cid}/ticks", json={"n": 3}, headers={"If-Match": "0"})
    assert created.status_code == 201
    assert created.json() == {"stream_id": f"counter-{cid}", "version": 1, "replayed": False}
    await client.post(f"/counters/{cid}/ticks", json={"n": 4})
    read = await client.get(f"/counters/{cid}")
    assert read.json() == {"counter_id": cid, "total": 7, "version": 2}


async def test_invalid_input_is_a_422_problem_naming_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(f"/counters/{counter()}/ticks", json={"n": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == "urn:wangge:problem:invalid-input"
    assert body["status"] == 422
    assert [e["field"] for e in body["errors"]] == ["body/n"]
    malformed = await client.post(
        f"/counters/{counter()}/ticks",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"].startswith("body")


async def test_a_stale_version_is_a_409_problem_and_writes_nothing(
    client: httpx.AsyncClient,
) -> None:
    cid = counter()
    await client.post(f"/counters/{cid}/ticks", json={"n": 1}, headers={"If-Match": "0"})
    stale = await client.post(f"/counters/{cid}/ticks", json={"n": 5}, headers={"If-Match": "0"})
    assert stale.status_code == 409
    assert stale.headers["content-type"] == PROBLEM_JSON
    assert stale.json()["type"] == "urn:wangge:problem:concurrency-conflict"
    assert stale.json()["actual_version"] == 1
    assert (await client.get(f"/counters/{cid}")).json()["total"] == 1


async def test_a_retried_command_returns_its_first_result(client: httpx.AsyncClient) -> None:
    cid = counter()
    headers = {"Idempotency-Key": f"tick-{uuid.uuid4()}"}
    first = await client.post(f"/counters/{cid}/ticks", json={"n": 2}, headers=headers)
    again = await client.post(f"/counters/{cid}/ticks", json={"n": 2}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == {**first.json(), "replayed": True}
    assert (await client.get(f"/counters/{cid}")).json()["total"] == 2
    reused = await client.post(f"/counters/{cid}/ticks", json={"n": 9}, headers=headers)
    assert reused.status_code == 422
    assert reused.json()["errors"] == [
        {"field": "header/Idempotency-Key", "message": "already used for a different request"}
    ]
    assert (await client.get(f"/counters/{cid}")).json()["total"] == 2


async def test_unknown_records_and_routes_are_404_problems(client: httpx.AsyncClient) -> None:
    missing = await client.get(f"/counters/{counter()}")
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:wangge:problem:not-found"
    nowhere = await client.get("/nowhere")
    assert nowhere.status_code == 404
    assert nowhere.headers["content-type"] == PROBLEM_JSON
    wrong_method = await client.delete(f"/counters/{counter()}")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == PROBLEM_JSON


async def test_a_bug_is_a_500_problem_that_hides_its_cause(client: httpx.AsyncClient) -> None:
    response = await client.get("/counters/-/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "secret internals" not in response.text


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] is True
    assert body["checks"]["database"] == {"ok": True, "detail": {"backend": ANY}}
    assert body["checks"]["workers"]["detail"] == {
        "status": "running",
        "relay": False,
        "projection_lag": {"counter_totals": ANY},
    }


async def test_openapi_documents_the_routes_and_the_idempotency_header(
    client: httpx.AsyncClient,
) -> None:
    spec = (await client.get("/openapi.json")).json()
    tick = spec["paths"]["/counters/{counter_id}/ticks"]["post"]
    assert "Idempotency-Key" in {p["name"] for p in tick["parameters"]}
    assert "/readyz" in spec["paths"]


@pytest.mark.postgres
@pytest.mark.kafka
async def test_with_kafka_the_relay_and_projections_run_in_the_lifespan(
    database_url: str, kafka_bootstrap: str
) -> None:
    schema = f"kitk_{uuid.uuid4().hex[:10]}"
    settings = ServiceSettings(
        service="counters",
        environment="test",
        database_url=database_url,
        database_schema=schema,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_partitions=3,
    )
    admin = create_engine(database_url)
    cid = counter()
    try:
        async with own_schema(settings), serving(sample_app(settings, routers=[router])) as client:
            for n in (1, 2, 3):
                await client.post(f"/counters/{cid}/ticks", json={"n": n})
            totals = CounterTotals().tables(1)["totals"]
            total = None
            for _ in range(200):
                async with admin.connect() as conn:
                    total = await conn.scalar(
                        sa.select(totals.c.total)
                        .where(totals.c.stream_id == f"counter-{cid}")
                        .execution_options(schema_translate_map={None: schema})
                    )
                if total == 6:
                    break
                await asyncio.sleep(0.05)
            assert total == 6, "the projection never saw the events through Kafka"
            for _ in range(100):  # ready once the projection's consumer has its partitions
                ready = (await client.get("/readyz")).json()
                if ready["ready"]:
                    break
                await asyncio.sleep(0.1)
            assert ready["ready"], ready
            assert ready["checks"]["workers"]["detail"]["relay"] is True
            assert "counter_totals" in ready["checks"]["workers"]["detail"]["projection_lag"]
    finally:
        await admin.dispose()


@pytest.fixture
def tokens(settings: ServiceSettings) -> DevIssuer:
    return DevIssuer(settings.dev_key_path)


@pytest.mark.parametrize(
    ("roles", "places", "place", "status"),
    [
        (["grid_worker"], ["320111001-003-004"], "320111001-003-004-012", 200),
        (["community_staff"], ["320111001-003"], "320111001-003-004", 200),
        (["subdistrict_admin"], ["320111001"], "320111001-008-169", 200),
        (["grid_worker"], ["320111001-003-004"], "320111001-003-005", 403),
        (["trainer"], ["320111001"], "320111001-003-004", 403),
        (["department:police"], ["320111001"], "320111001-003-004", 403),
    ],
)
async def test_roles_and_place_scope_decide_access(
    client: httpx.AsyncClient,
    tokens: DevIssuer,
    roles: list[str],
    places: list[str],
    place: str,
    status: int,
) -> None:
    token = tokens.issue("someone", roles=roles, places=places)
    response = await client.get(f"/places/{place}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status
    if status != 200:
        assert response.headers["content-type"] == PROBLEM_JSON


async def test_a_missing_or_forged_token_is_a_401_problem(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    missing = await client.get("/places/320111001")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert missing.headers["content-type"] == PROBLEM_JSON
    forged = DevIssuer(tmp_path / "forger.pem").issue(
        "x", roles=["subdistrict_admin"], places=["320111001"]
    )
    refused = await client.get("/places/320111001", headers={"Authorization": f"Bearer {forged}"})
    assert refused.status_code == 401


async def test_the_api_docs_need_no_cdn(client: httpx.AsyncClient) -> None:
    """/docs and /redoc load their scripts and styles from the service itself (offline)."""
    import re

    for page in ("/docs", "/redoc"):
        html = await client.get(page)
        assert html.status_code == 200, page
        assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html.text)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            assert (await client.get(asset)).status_code == 200, asset
