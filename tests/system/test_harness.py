"""The harness itself: servers come back where they were, with their data; processes too."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer

from system_support import Servers, System, read_topic

pytestmark = pytest.mark.system


@pytest.mark.usefixtures("system")  # which starts the servers again if the test fails midway
async def test_postgres_comes_back_on_its_port_with_its_data_after_a_stop_and_a_crash(
    servers: Servers,
) -> None:
    url = servers.database_url.replace("+asyncpg", "")
    table = f"harness_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f"CREATE TABLE {table} (n int); INSERT INTO {table} VALUES (1)")
    finally:
        await connection.close()

    await servers.stop_postgres()
    with pytest.raises(OSError):
        await asyncpg.connect(url)
    await servers.start_postgres()
    await servers.stop_postgres(mode="immediate")  # committed rows survive a crash
    await servers.start_postgres()

    connection = await asyncpg.connect(url)
    try:
        assert await connection.fetchval(f"SELECT sum(n) FROM {table}") == 1
        await connection.execute(f"DROP TABLE {table}")
    finally:
        await connection.close()


async def test_the_broker_comes_back_on_its_port_with_its_records(
    servers: Servers, system: System
) -> None:
    registry = await system.start_service("registry")  # makes its topic
    topic = system.topic("registry")
    producer = AIOKafkaProducer(bootstrap_servers=servers.bootstrap_servers, acks="all")
    await producer.start()
    try:
        event_id = str(uuid.uuid4())
        await producer.send_and_wait(topic, b"{}", key=b"k", headers=[("ce_id", event_id.encode())])
    finally:
        await producer.stop()

    await servers.stop_kafka()
    await servers.start_kafka()

    assert event_id in {str(r.event_id) for r in await read_topic(servers.bootstrap_servers, topic)}
    # the service reconnects by itself: ready again, without a restart
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if (await client.get(f"{registry.url}/readyz")).status_code == 200:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the registry never became ready again after the broker's restart")


async def test_a_process_killed_starts_again_on_its_port(system: System) -> None:
    registry = await system.start_service("registry")
    await registry.kill()
    assert not registry.running
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{registry.url}/healthz")
        await registry.start()
        assert (await client.get(f"{registry.url}/readyz")).status_code == 200
    assert (registry.starts, registry.kills) == (2, 1)
    assert "killed (SIGKILL)" in registry.tail()
