"""Crypto-shredding, checked where it matters: the raw bytes of the registry's Kafka topic."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, ConsumerRecord

from wangge.events import Envelope, default_catalogue
from wangge.events.catalogue import version_from_dataschema
from wangge.events.envelope import decode_data
from wangge.events.kafka import topic_for
from wangge.registry.config import RegistrySettings
from wangge.registry.domain.persons import PersonRegistered

from registry_support import build_tree, identity_number, register_person, started

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def _records_until(
    bootstrap: str, topic: str, subject: str, event_type: str, within: float = 60.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of the topic from the beginning, once one of ``event_type`` on ``subject``
    has arrived."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        records: list[ConsumerRecord[bytes, bytes]] = []
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for messages in batch.values():
                records.extend(messages)
            seen = any(
                dict(r.headers).get("ce_subject") == subject.encode()
                and dict(r.headers).get("ce_type") == event_type.encode()
                for r in records
            )
            if seen and not batch:
                return records
            await asyncio.sleep(0)
        raise AssertionError(f"{event_type} on {subject} never reached {topic}")
    finally:
        await consumer.stop()


async def test_after_erasure_a_replay_of_the_topic_shows_no_personal_data_and_every_other_fact(
    database_url: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    settings = RegistrySettings(
        environment="test",
        data_dir=tmp_path,
        database_url=database_url,
        database_schema=f"reg_{uuid.uuid4().hex[:10]}",
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_partitions=3,
    )
    name = f"欧阳{uuid.uuid4().int % 10**6:06d}"  # unique, so other runs' records cannot match
    number = identity_number(birth="19620315")
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    secrets = [name, number, phone, "+86" + phone, "福建省厦门市思明区", "江西省南昌市"]
    async with started(settings) as registry:
        ready = (await registry.client.get("/readyz")).json()
        kafka = ready["checks"]["kafka"]  # the topic may predate this test: any partitions
        assert kafka["ok"] is True and kafka["detail"]["topic"] == "wangge.registry.events"
        tree = await build_tree(registry)
        person = await register_person(
            registry, tree, name=name, identity_number=number, phone=phone,
            moved_in_from="江西省南昌市",
        )  # fmt: skip
        pid = person["person_id"]
        await registry.client.post(
            f"/persons/{pid}/tags",
            json={"tag": "disabled", "source": "残联", "valid_from": "2015-06-01"},
            headers=tree.admin,
        )
        await registry.client.post(
            f"/persons/{pid}/move-out",
            json={"on": "2026-09-01", "whereabouts": "福建省厦门市思明区"}, headers=tree.admin,
        )  # fmt: skip
        opened = await registry.client.get(
            f"/persons/{pid}/personal-data", params={"purpose": "核验"}, headers=tree.admin
        )
        assert opened.json()["name"] == name  # readable before the erasure
        erased = await registry.client.request(
            "DELETE", f"/persons/{pid}/personal-data",
            json={"legal_ground": "purpose_achieved"}, headers=tree.admin,
        )  # fmt: skip
        assert erased.status_code == 200, erased.text

        subject = f"person-{pid}"
        records = await _records_until(
            kafka_bootstrap, topic_for("registry"), subject, "wangge.registry.PersonalDataErased"
        )
        raw = b"".join(
            (r.key or b"") + (r.value or b"") + b"".join(v or b"" for _, v in r.headers)
            for r in records
        )
        for secret in secrets:
            assert secret.encode() not in raw, secret

        replay = []
        for record in records:
            envelope = Envelope.from_kafka_headers(list(record.headers))
            if envelope.subject == subject:
                replay.append(
                    default_catalogue.decode(
                        envelope.type,
                        version_from_dataschema(envelope.dataschema),
                        decode_data(record.value or b"{}"),
                    )
                )
        types = [type(e).__name__ for e in replay]
        assert types == [
            "PersonRegistered", "PersonMovedIn", "PersonTagged", "PersonMovedOut",
            "PersonalDataErased",
        ]  # fmt: skip
        assert replay[2].tag == "disabled"  # type: ignore[attr-defined]
        assert replay[3].on.isoformat() == "2026-09-01"  # type: ignore[attr-defined]
        registered = replay[0]
        assert isinstance(registered, PersonRegistered)
        assert registered.birth_year == 1962 and registered.name_masked == name[0] + "*" * 7
        keys = registry.app.state.service.core.keyring
        async with registry.store.engine.connect() as conn:
            assert await keys.key(conn, uuid.UUID(pid)) is None  # nothing can open it again
