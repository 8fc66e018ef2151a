"""An analyst's export from Kafka waits a broker's outage out: the broker stopped while a
topic's partitions are still being read, and started again on its port and data, the export
reads on from where it was, and the dataset is what one run without an outage writes, file for
file.

The events are the registry's, published as the relay publishes them (its headers, keyed by
stream) to a topic of the test's own namespace; the export runs in the test's process with its
writing slowed (a tenth of a second a chunk) so that the outage falls between its first chunk
and its last.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from wangge.events.catalogue import dataschema_for
from wangge.events.envelope import Envelope
from wangge.events.kafka import ensure_topics, make_producer, topic_for
from wangge.replay.dataset import STATE, Dataset
from wangge.replay.export import Options, run

from system_support import Servers

pytestmark = pytest.mark.system

EVENTS = 12_000
PARTITIONS = 4
CHUNK = 500
PERSON_REGISTERED = "wangge.registry.PersonRegistered"
KEY = bytes(range(32))


def _event(n: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    person = str(uuid.UUID(int=n))
    data = {
        "person_id": person, "name_masked": "王**", "identity_masked": "320111********123X",
        "phone_masked": "139****5678", "sex": "female", "birth_year": 1930 + n % 70,
        "hukou_type": "local", "residence_status": "resident",
        "personal": {"key": "k", "nonce": "n", "ciphertext": "c"},
    }  # fmt: skip
    envelope = Envelope(
        id=uuid.uuid5(uuid.NAMESPACE_URL, f"replay-outage-{n}"), source="/wangge/registry",
        type=PERSON_REGISTERED, subject=f"person-{person}",
        time=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n),
        dataschema=dataschema_for(PERSON_REGISTERED, 1), sequence=1, actor="worker-1",
    )  # fmt: skip
    return envelope.subject.encode(), json.dumps(data).encode(), envelope.kafka_headers()


async def _published(servers: Servers, topic: str) -> None:
    await ensure_topics(servers.bootstrap_servers, [topic], partitions=PARTITIONS)
    producer = make_producer(servers.bootstrap_servers)
    await producer.start()
    try:
        for start in range(0, EVENTS, 1000):
            sent = []
            for n in range(start, start + 1000):
                key, value, headers = _event(n)
                sent.append(await producer.send(topic, value, key=key, headers=headers))
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


def _files(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and STATE not in p.parts and not p.name.startswith(".")
    }


async def test_an_export_waits_a_broker_outage_out_and_writes_what_a_clean_run_writes(
    servers: Servers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = topic_for("registry", f"s{uuid.uuid4().hex[:10]}")
    await _published(servers, topic)

    def options(out: Path) -> Options:
        return Options(
            out=out, key=KEY, bootstrap_servers=servers.bootstrap_servers, topics=(topic,),
            chunk=CHUNK,
        )  # fmt: skip

    clean = await run(options(tmp_path / "clean"))
    assert clean.offsets == EVENTS

    write_chunk = Dataset.write_chunk

    def slowly(self: Dataset, *args: Any, **kwargs: Any) -> int:
        time.sleep(0.1)
        return write_chunk(self, *args, **kwargs)

    monkeypatch.setattr(Dataset, "write_chunk", slowly)
    out = tmp_path / "outage"
    export = asyncio.create_task(run(options(out)))
    dataset = Dataset(out)
    while (manifest := dataset.manifest()) is None or dataset.done(manifest) == 0:
        assert not export.done(), "the export ended before its first chunk was seen"
        await asyncio.sleep(0.05)
    try:
        await servers.stop_kafka()
        written = dataset.done(manifest)
        assert 0 < written < EVENTS, written  # the broker went while the export was reading
        await asyncio.sleep(3)
        assert not export.done()
    finally:
        await servers.start_kafka()
    outaged = await asyncio.wait_for(export, timeout=180)
    assert dataset.done(manifest) == EVENTS and outaged.offsets == EVENTS
    assert _files(out) == _files(tmp_path / "clean")
