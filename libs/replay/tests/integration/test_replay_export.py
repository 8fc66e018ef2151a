"""The replay of a seeded subdistrict's registry: from its SQLite event table (the embedded
default) and from its topic on a real Kafka, one worker and two, killed and run again; what it
writes holds no resident's name, identity number or phone, and DuckDB, PySpark and the event
table agree on what is there."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from wangge.events.db import create_engine
from wangge.events.envelope import Metadata
from wangge.events.kafka import ensure_topics, make_producer
from wangge.events.relay import OutboxRelay
from wangge.governance.erasure import ErasureGround
from wangge.governance.hotline_figures import CST
from wangge.registry.config import RegistrySettings
from wangge.registry.handlers import persons
from wangge.registry.seeding import seed
from wangge.registry.synthetic import Generator
from wangge.replay.dataset import STATE
from wangge.replay.export import Options, run
from wangge.replay.iceberg import catalog
from wangge.replay.pseudonyms import pseudonymiser
from wangge.replay.query import connect
from wangge.service.testing import backend_settings, served, started
from wangge.views.app import MIGRATIONS as VIEWS_MIGRATIONS
from wangge.views.app import build_app as build_views
from wangge.views.config import ViewsSettings

from registry_support import started_without_app

KEY = "ab" * 32
SEED = 320111001
CLI = Path(sys.executable).parent / "wangge"


@dataclass(frozen=True)
class Seeded:
    """A tiny subdistrict's registry on SQLite, and what must never be found in an export."""

    data_dir: Path
    counts: Counter[str]
    secrets: frozenset[str]
    erased: str
    """a resident whose personal data was erased after the census"""


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    data_dir = tmp_path_factory.mktemp("subdistrict")
    settings = backend_settings(RegistrySettings, "sqlite", data_dir, None, "reg")
    generator = Generator(seed=SEED, size="tiny")
    async with started_without_app(settings) as core:
        report = await seed(core, generator, census_date=date(2026, 1, 1))
        registered = await core.store.read_all(limit=100_000)
        erased = next(
            e.data["person_id"] for e in registered if e.envelope.type.endswith("PersonRegistered")
        )
        commands = core.commands(Metadata(actor="admin-erasure"))
        ground = ErasureGround.CONSENT_WITHDRAWN
        await persons.erase(commands, core, persons.Erase(person_id=erased, legal_ground=ground))
    assert report.rows > 100
    engine = create_engine(f"sqlite+aiosqlite:///{data_dir / 'registry.db'}")
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT type, count(*) FROM events GROUP BY 1"))).all()
    await engine.dispose()
    public = " ".join(
        [o.name for o in generator.organisations()] + [t.name for t in generator.things()]
    )
    secrets = set()
    for resident in generator.residents():
        secrets.add(resident["identity_number"])
        if resident["phone"]:
            secrets.add(resident["phone"])
        if resident["name"] not in public:
            secrets.add(resident["name"])
    return Seeded(data_dir, Counter({t: n for t, n in rows}), frozenset(secrets), str(erased))


@dataclass(frozen=True)
class Views:
    """A views service on a loopback port, where the command records its exports."""

    url: str
    analyst: str
    """an analyst's bearer token"""
    exports: Callable[[], Awaitable[list[dict[str, Any]]]]


@pytest.fixture(scope="module")
async def views(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Views]:
    data_dir = tmp_path_factory.mktemp("views")
    settings = backend_settings(ViewsSettings, "sqlite", data_dir, None, "vw")
    async with started(settings, build_views, VIEWS_MIGRATIONS) as running:

        async def exports() -> list[dict[str, Any]]:
            store = running.app.state.service.core.store
            found = await store.read_all(limit=10_000)
            return [e.data for e in found if e.envelope.type == "wangge.views.DatasetExported"]

        def token(role: str) -> str:
            return str(running.as_(role, places=["320111001"])["Authorization"]).split()[1]

        async with served(running.app) as url:
            yield Views(url, token("analyst"), exports)


def _options(out: Path, **values: object) -> Options:
    return Options(out=out, key=bytes.fromhex(KEY), **values)  # type: ignore[arg-type]


def _files(root: Path) -> dict[str, str]:
    """Every file a reader reads (not the run's own state), by path, with its content's hash."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file() and STATE not in p.parts and not p.name.startswith(".")
    }


def _counts(root: Path) -> Counter[str]:
    with connect(root) as db:
        return Counter(dict(db.execute("SELECT type, count(*) FROM events GROUP BY 1").fetchall()))


def _values(root: Path) -> str:
    """Every value written, as text (Parquet's pages are compressed: its bytes say nothing)."""
    texts = []
    for path in root.rglob("*.parquet"):
        for column in pq.read_table(path).to_pydict().values():
            texts += [str(v) for v in column if v is not None]
    for path in root.rglob("*.jsonl"):
        texts.append(path.read_text(encoding="utf-8"))
    return "\n".join(texts)


def _leaks(seeded: Seeded, root: Path) -> list[str]:
    text = _values(root)
    return sorted(secret for secret in seeded.secrets if secret in text)


async def test_the_embedded_tables_replay_pseudonymised_and_complete(
    seeded: Seeded, tmp_path: Path
) -> None:
    out = tmp_path / "dataset"
    summary = await run(_options(out, data_dir=seeded.data_dir))
    assert summary.offsets == sum(seeded.counts.values())
    assert _counts(out) == seeded.counts
    assert not _leaks(seeded, out)
    assert len(seeded.secrets) > 100  # the scan looked for something
    with connect(out) as db:
        grids = db.execute(
            "SELECT count(*) FROM registry.PlaceRegistered WHERE kind = 'grid' AND name IS NOT NULL"
        ).fetchone()
        people = db.execute(
            "SELECT count(DISTINCT p.person_id) FROM registry.PersonRegistered p "
            "JOIN registry.HouseholdMemberJoined j USING (person_id)"
        ).fetchone()
    assert grids == (4,)
    assert people is not None and people[0] > 0  # pseudonyms join across types
    pseudonym = pseudonymiser(bytes.fromhex(KEY))(seeded.erased)
    with connect(out) as db:
        erasure = db.execute(
            "SELECT legal_ground FROM registry.PersonalDataErased WHERE person_id = ?", [pseudonym]
        ).fetchall()
        kept = db.execute(
            "SELECT * FROM registry.PersonRegistered WHERE person_id = ?", [pseudonym]
        ).fetchall()
        columns = {d[0] for d in db.execute("SELECT * FROM registry.PersonRegistered").description}
    assert erasure == [("consent_withdrawn",)]  # the analyst learns the erasure, by pseudonym
    assert len(kept) == 1  # the fact of the registration stays; nothing personal was in it
    assert columns & {"personal", "name_masked", "identity_masked", "phone_masked"} == set()

    again = await run(_options(out, data_dir=seeded.data_dir))
    assert again.offsets == 0  # finished: a rerun writes nothing

    jsonl = tmp_path / "jsonl"
    await run(_options(jsonl, data_dir=seeded.data_dir, format="jsonl"))
    assert _counts(jsonl) == seeded.counts
    assert not _leaks(seeded, jsonl)


@pytest.fixture(scope="module")
async def topic(seeded: Seeded, kafka_bootstrap: str) -> str:
    """The registry's events relayed to a topic of 4 partitions in a namespace of its own,
    with one message that is not an event of ours."""
    namespace = f"r{uuid.uuid4().hex[:10]}"
    name = f"{namespace}.registry.events"
    await ensure_topics(kafka_bootstrap, [name], partitions=4)
    engine = create_engine(f"sqlite+aiosqlite:///{seeded.data_dir / 'registry.db'}")
    from wangge.events.contract import published_catalogue
    from wangge.events.store import open_store

    store = open_store(engine, service="registry", catalogue=published_catalogue())
    relay = OutboxRelay(store, bootstrap_servers=kafka_bootstrap, topic=name)
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    try:
        checkpoint = await store.load_checkpoint(relay.name)
        while True:
            checkpoint, count = await relay.publish_batch(producer, checkpoint)
            if count == 0:
                break
        await producer.send_and_wait(name, b"not an event", key=b"stray")
    finally:
        await producer.stop()
        await engine.dispose()
    return namespace


@pytest.mark.kafka
async def test_two_workers_from_kafka_write_what_the_table_holds(
    seeded: Seeded, topic: str, kafka_bootstrap: str, tmp_path: Path
) -> None:
    out = tmp_path / "dataset"
    await run(_options(out, bootstrap_servers=kafka_bootstrap, namespace=topic, workers=2))
    counts = _counts(out)
    assert counts.pop("_unreadable") == 1  # a fact is a fact: kept, marked, not fatal
    assert counts == seeded.counts
    assert not _leaks(seeded, out)
    one = tmp_path / "one"
    await run(_options(one, bootstrap_servers=kafka_bootstrap, namespace=topic))
    assert _files(one) == _files(out)  # the same files, byte for byte, however many workers
    table = tmp_path / "table"
    await run(_options(table, data_dir=seeded.data_dir))
    for view in (
        "registry.PlaceRegistered",
        "registry.PersonRegistered",
        "registry.HouseholdMemberJoined",
    ):
        # the row-by-row way (a rule with `when`) and the fast way, from Kafka's text and from
        # the table's events: the same values
        query = (
            f"SELECT * EXCLUDE (event_partition, event_offset, topic) FROM {view} ORDER BY event_id"
        )
        with connect(out) as kafka_db, connect(table) as table_db:
            assert kafka_db.execute(query).fetchall() == table_db.execute(query).fetchall(), view


@pytest.mark.kafka
async def test_killed_at_random_points_and_run_again_it_writes_what_one_clean_run_writes(
    seeded: Seeded, topic: str, kafka_bootstrap: str, views: Views, tmp_path: Path
) -> None:
    clean = tmp_path / "clean"
    args = ["--namespace", topic, "--chunk", "700", "--bootstrap-servers", kafka_bootstrap]
    await run(_options(clean, bootstrap_servers=kafka_bootstrap, namespace=topic, chunk=700))
    killed = tmp_path / "killed"
    env = {
        **os.environ, "WANGGE_EXPORT_KEY": KEY, "WANGGE_TOKEN": views.analyst,
        "WANGGE_VIEWS_URL": views.url,
    }  # fmt: skip
    before = len(await views.exports())
    command = [str(CLI), "replay", "export", str(killed), *args, "--workers", "2", "--quiet"]
    rng = random.Random(SEED)
    kills = 0
    for _ in range(3):
        process = await asyncio.create_subprocess_exec(*command, env=env, start_new_session=True)
        await asyncio.sleep(rng.uniform(1.5, 4.0))
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            kills += 1
        await process.wait()
    assert kills, "the export finished before any kill: nothing was tested"
    finished = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr
    assert _files(killed) == _files(clean)
    assert len(_files(clean)) > 10
    recorded = (await views.exports())[before:]
    runs = (killed / STATE / "runs.jsonl").read_text(encoding="utf-8").splitlines()
    # a run killed while starting recorded nothing; one that wrote was recorded first
    assert 1 <= len(runs) <= len(recorded) <= 4
    assert {r["export_id"] for r in recorded} >= {json.loads(line)["export_id"] for line in runs}
    assert {(r["pseudonymised"], tuple(r["topics"])) for r in recorded} == {
        (True, (f"{topic}.registry.events",))
    }


async def test_an_analysts_export_in_clear_is_refused_before_anything_is_written(
    seeded: Seeded, views: Views, tmp_path: Path
) -> None:
    policy = tmp_path / "clear.toml"
    policy.write_text('[fields]\nperson_id = "keep"\n', encoding="utf-8")
    out = tmp_path / "clear"
    command = [
        str(CLI), "replay", "export", str(out), "--tables", str(seeded.data_dir),
        "--policy", str(policy), "--views-url", views.url, "--quiet",
    ]  # fmt: skip
    env = {**os.environ, "WANGGE_EXPORT_KEY": KEY}
    before = len(await views.exports())
    refused = await asyncio.to_thread(
        subprocess.run, [*command, "--token", views.analyst],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "pseudonymised" in refused.stderr
    assert not out.exists()
    assert len(await views.exports()) == before  # refused: nothing recorded (an admin may:
    # services/views/tests/api/test_exports.py)
    unusable = tmp_path / "unusable.toml"
    unusable.write_text('[fields]\nbirth_year = "hash"\n', encoding="utf-8")
    refused = await asyncio.to_thread(
        subprocess.run, [*command, "--token", views.analyst, "--policy", str(unusable)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "birth_year" in refused.stderr, refused.stderr
    assert not out.exists() and len(await views.exports()) == before
    unsigned = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, check=False
    )
    assert unsigned.returncode == 2 and "--token" in unsigned.stderr
    kept = [
        str(CLI), "replay", "export", str(tmp_path / "kept"), "--tables", str(seeded.data_dir),
        "--views-url", views.url, "--quiet", "--token", views.analyst,
    ]  # fmt: skip
    made = await asyncio.to_thread(
        subprocess.run, kept, env=env, capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stderr
    recorded = len(await views.exports())
    another = {**env, "WANGGE_EXPORT_KEY": "cd" * 32}  # a rerun into it with another key
    mixed = await asyncio.to_thread(
        subprocess.run, kept, env=another, capture_output=True, text=True, check=False
    )
    assert mixed.returncode == 2 and "other key" in mixed.stderr, mixed.stderr
    assert "Traceback" not in mixed.stderr
    assert len(await views.exports()) == recorded  # refused before it was recorded


def test_spark_reads_the_dataset_as_duckdb_does(seeded: Seeded, tmp_path: Path) -> None:
    out = tmp_path / "dataset"
    asyncio.run(run(_options(out, data_dir=seeded.data_dir)))
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("wangge-replay-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    try:
        frame = spark.read.option("mergeSchema", "true").parquet(str(out))
        counted = Counter(
            {row["type"]: row["count"] for row in frame.groupBy("type").count().collect()}
        )
    finally:
        spark.stop()
    assert counted == _counts(out) == seeded.counts


DOCS = Path(__file__).resolve().parents[4] / "docs" / "analytics.md"


def _cookbook(name: str) -> str:
    found = re.search(rf"```sql\n-- name: {name}\n(.*?)```", DOCS.read_text("utf-8"), re.S)
    assert found, name
    return found.group(1)


def _copy_of(seeded: Seeded, folder: Path) -> Path:
    """The seeded registry's database in a folder of its own (a test that writes to it or
    starts another service beside it leaves the module's subdistrict as it was)."""
    folder.mkdir()
    for path in seeded.data_dir.glob("registry.db*"):
        shutil.copy(path, folder / path.name)
    return folder


async def test_as_of_a_day_the_views_tables_are_what_the_views_service_answers(
    seeded: Seeded, tmp_path: Path
) -> None:
    copy = _copy_of(seeded, tmp_path / "subdistrict")
    today = datetime.now(CST).date()
    out = tmp_path / "dataset"
    summary = await run(_options(out, data_dir=copy, as_of=today))
    assert (
        summary.as_of["views_residents.persons"]
        == seeded.counts["wangge.registry.PersonRegistered"]
    )
    before = await run(_options(tmp_path / "before", data_dir=copy, as_of=today - timedelta(1)))
    assert before.as_of and not any(before.as_of.values())  # nothing was recorded by then
    with connect(out) as db:
        query = _cookbook("floating_residents_per_grid_as_of").replace(
            "20261207", today.strftime("%Y%m%d")
        )
        floating = dict(db.execute(query).fetchall())
        joined = db.execute(
            f"SELECT count(*) FROM as_of_{today:%Y%m%d}.views_residents_persons p "
            "JOIN registry.PersonRegistered r USING (person_id)"
        ).fetchall()
    assert joined == [(summary.as_of["views_residents.persons"],)]  # one key, one pseudonym
    assert sum(floating.values()) > 0
    settings = backend_settings(ViewsSettings, "sqlite", copy, None, "vw")
    async with started(settings, build_views, VIEWS_MIGRATIONS) as views:
        admin = views.as_("subdistrict_admin", places=["320111001"])

        async def read() -> dict[str, int] | None:
            found = {}
            for code in floating:
                answer = await views.client.get(f"/grids/{code}/dashboard", headers=admin)
                if answer.status_code != 200:
                    return None
                found[code] = answer.json()["current"]["residents"]["floating"]
            return found

        shown = None
        for _ in range(150):  # until the views have caught up (two reads alike proved nothing:
            # two reads of a views service that had not begun were alike too)
            shown = await read()
            if shown == floating:
                break
            await asyncio.sleep(0.2)
    assert floating == shown


async def _erase_someone(data_dir: Path) -> None:
    """The last person registered in the registry under ``data_dir`` erased."""
    settings = backend_settings(RegistrySettings, "sqlite", data_dir, None, "reg")
    async with started_without_app(settings) as core:
        found = await core.store.read_all(limit=100_000)
        someone = [e.data["person_id"] for e in found if e.envelope.type.endswith("Registered")
                   and "person_id" in e.data][-1]  # fmt: skip
        commands = core.commands(Metadata(actor="admin-erasure"))
        ground = ErasureGround.CONSENT_WITHDRAWN
        await persons.erase(commands, core, persons.Erase(person_id=someone, legal_ground=ground))


async def test_extended_to_events_recorded_since_it_writes_what_a_clean_run_to_now_writes(
    seeded: Seeded, tmp_path: Path
) -> None:
    copy = _copy_of(seeded, tmp_path / "subdistrict")
    grown = tmp_path / "grown"
    first = await run(_options(grown, data_dir=copy, chunk=700))
    await _erase_someone(copy)  # an erasure recorded after the export
    same = await run(_options(grown, data_dir=copy, chunk=700))
    assert same.offsets == 0  # without --extend the export keeps the end it began with
    more = await run(_options(grown, data_dir=copy, chunk=700, extend=True))
    assert more.offsets >= 1 and first.offsets > 0
    clean = tmp_path / "clean"
    await run(_options(clean, data_dir=copy, chunk=700))
    assert _files(grown) == _files(clean)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_published_to_iceberg_each_publish_is_a_snapshot_of_the_dataset_as_it_was(
    seeded: Seeded, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        uri = f"sqlite:///{tmp_path / 'catalog.db'}"
    else:  # the catalog's tables in the test database, under a namespace of this test's own
        url = sa.make_url(request.getfixturevalue("database_url"))
        uri = url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    namespace = f"replay_{uuid.uuid4().hex[:8]}"
    copy = _copy_of(seeded, tmp_path / "subdistrict")
    out = tmp_path / "dataset"

    def options(**values: object) -> Options:
        return _options(
            out, data_dir=copy, chunk=700, iceberg=uri, iceberg_namespace=namespace, **values
        )

    first = await run(options())
    tables = catalog(uri, out / STATE / "iceberg")
    erasures = (namespace, "registry__PersonalDataErased")

    def published() -> Counter[str]:
        found: Counter[str] = Counter()
        for event_type in _counts(out):
            if event_type.count(".") == 2:
                _, service, name = event_type.split(".")
                table = tables.load_table((namespace, f"{service}__{name}"))
                found[event_type] = table.scan().to_arrow().num_rows
        return found

    assert published() == _counts(out) == seeded.counts
    assert sum(first.iceberg.values()) == sum(seeded.counts.values())
    before = tables.load_table(erasures).current_snapshot()
    assert before is not None
    await _erase_someone(copy)  # an erasure recorded after the export
    more = await run(options(extend=True))
    assert ".".join(erasures) in more.iceberg
    assert published() == _counts(out) != seeded.counts  # the tables follow the dataset
    table = tables.load_table(erasures)
    kind = "wangge.registry.PersonalDataErased"
    assert table.scan(snapshot_id=before.snapshot_id).to_arrow().num_rows == seeded.counts[kind]
    assert table.scan().to_arrow().num_rows == seeded.counts[kind] + 1  # time travel
    again = await run(options())
    assert again.offsets == 0 and again.iceberg == {}  # nothing changed: no new snapshot
    assert len(tables.load_table(erasures).snapshots()) == len(table.snapshots())
