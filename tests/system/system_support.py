"""The system tests' harness: servers of their own, and the services run as OS processes.

System tests run the services as production does: ``wangge <service> run`` and
``wangge-events relay`` processes configured by ``WANGGE_*`` variables, each service on a database
of its own, each test on a Kafka namespace of its own. The PostgreSQL cluster and the Kafka broker
are the tests' own (``scripts/dev/*.sh`` under another ``WANGGE_DEV_DIR``), not the shared dev
servers, so a test may stop, crash and restart them, or ``kill -9`` any process, without
disturbing any other test.

- ``Servers``: the cluster and the broker; ``stop_postgres`` / ``start_postgres``,
  ``stop_kafka`` / ``start_kafka``, each returning once the server is really down / ready.
- ``Process``: one process of the system; ``start`` (waits for ``/readyz``), ``kill`` (SIGKILL),
  ``restart``, ``stop``, ``tail`` of its log.
- ``System``: one test's deployment: ``start_service``, ``start_relay``, ``headers`` (dev
  tokens), ``events`` (a service's event table), ``topic_records`` (its topic, to the end).

Clients of the services' APIs are in ``system_clients``; the fixtures in ``conftest.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from wangge.service.devissuer import DevIssuer

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "scripts" / "dev"
BIN = Path(sys.executable).parent
"""Where the workspace's commands are (``.venv/bin``: ``wangge``, ``wangge-events``)."""

READY_SECONDS = 90.0
"""How long a process may take to answer ``/readyz`` with 200: generous, since on two cores a
start competes with the load and the other restarts of a test."""

_OUTSIDE = ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE")
"""Variables naming the shared dev servers: never passed on, or the scripts and the services
would reuse those servers instead of the system tests' own."""


class HarnessError(RuntimeError):
    """A server or a process of the system under test did not do what the harness asked."""


def _clean_environment() -> dict[str, str]:
    return {
        name: value
        for name, value in os.environ.items()
        if name not in _OUTSIDE and not name.startswith("WANGGE_")
    }


def _exports(output: str) -> dict[str, str]:
    """The ``export NAME=value`` lines a dev script prints."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        if line.startswith("export ") and "=" in line:
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = value
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (a process keeps it across its restarts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Servers:
    """The system tests' own PostgreSQL cluster and Kafka broker, under ``folder``.

    A stop and a start keep the port and the data, so clients reconnect to the same address.
    """

    folder: Path
    database_url: str
    bootstrap_servers: str

    @classmethod
    def start(cls, folder: Path) -> Servers:
        """Start both (blocking: for a session fixture, before any test runs)."""
        postgres = _script_blocking("postgres.sh", ["start"], folder)
        kafka = _script_blocking("kafka.sh", ["start"], folder)
        return cls(folder, postgres["DATABASE_URL"], kafka["KAFKA_BOOTSTRAP_SERVERS"])

    def close(self) -> None:
        """Stop both (blocking), the broker first; each is tried even if the other fails."""
        errors = []
        for script in ("kafka.sh", "postgres.sh"):
            try:
                _script_blocking(script, ["stop"], self.folder)
            except HarnessError as error:
                errors.append(str(error))
        if errors:
            raise HarnessError("\n".join(errors))

    async def stop_postgres(self, *, mode: Literal["fast", "immediate"] = "fast") -> None:
        """Stop PostgreSQL: ``fast`` (clients disconnected, a clean shutdown) or ``immediate``
        (no checkpoint: a crash, recovered at the next start). Returns once it is down."""
        await self._script("postgres.sh", "stop", mode)

    async def start_postgres(self) -> None:
        """Start PostgreSQL again on the same port; returns once it accepts connections."""
        exported = await self._script("postgres.sh", "start")
        self._same("DATABASE_URL", exported, self.database_url)

    async def stop_kafka(self) -> None:
        """Stop the broker (SIGTERM, a clean shutdown); returns once its process is gone."""
        await self._script("kafka.sh", "stop")

    async def start_kafka(self) -> None:
        """Start the broker again on the same port and data; returns once it answers metadata."""
        exported = await self._script("kafka.sh", "start")
        self._same("KAFKA_BOOTSTRAP_SERVERS", exported, self.bootstrap_servers)

    async def ensure_running(self) -> None:
        """Start whichever is stopped (a test that stopped one and failed before starting it
        again must not leave the next test without it)."""
        await self.start_postgres()
        await self.start_kafka()

    def database(self, name: str) -> str:
        """The SQLAlchemy URL of database ``name`` on the cluster."""
        base, _, _ = self.database_url.rpartition("/")
        return f"{base}/{name}"

    async def _script(self, script: str, *args: str) -> dict[str, str]:
        process = await asyncio.create_subprocess_exec(
            str(SCRIPTS / script),
            *args,
            env={**_clean_environment(), "WANGGE_DEV_DIR": str(self.folder)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        if process.returncode != 0:
            raise HarnessError(f"{script} {' '.join(args)} failed:\n{err.decode()}{out.decode()}")
        return _exports(out.decode())

    @staticmethod
    def _same(name: str, exported: Mapping[str, str], before: str) -> None:
        # a server back on another port would leave every client knocking on the old one
        if exported.get(name) != before:
            raise HarnessError(f"{name} changed across a restart: {before} -> {exported.get(name)}")


def _script_blocking(script: str, args: Sequence[str], folder: Path) -> dict[str, str]:
    done = subprocess.run(
        [str(SCRIPTS / script), *args],
        env={**_clean_environment(), "WANGGE_DEV_DIR": str(folder)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"{script} {' '.join(args)} failed:\n{done.stderr}{done.stdout}")
    return _exports(done.stdout)


@dataclass
class Process:
    """One OS process of the system under test: the same command, environment, port and log
    file at every start, so clients find it again after a restart.

    With a ``port``, ``start`` returns once ``GET /readyz`` answers 200; without one (a relay,
    which serves nothing) once the process runs.
    """

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    starts: int = 0
    kills: int = 0
    _process: asyncio.subprocess.Process | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Where its API listens."""
        if self.port is None:
            raise HarnessError(f"{self.name} serves no API")
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the process is alive (it may have exited on its own)."""
        return self._process is not None and self._process.returncode is None

    async def start(self, *, within: float = READY_SECONDS) -> None:
        """Start it, and wait until it is ready (raises with the log's tail if it is not)."""
        if self.running:
            raise HarnessError(f"{self.name} is already running")
        self.starts += 1
        self._mark(f"start {self.starts}")
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                # its own session: a Ctrl-C of the test run reaches pytest, which stops it
                start_new_session=True,
            )
        if self.port is not None:
            await self._wait_ready(within)

    async def kill(self) -> None:
        """``kill -9``: no shutdown of any kind. Returns once the process is gone."""
        process = self._process
        if process is None or process.returncode is not None:
            raise HarnessError(f"{self.name} is not running (exit code {self._exit_code()})")
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        await process.wait()
        self.kills += 1
        self._mark("killed (SIGKILL)")

    async def restart(self) -> None:
        """``kill -9``, then start again; returns once it is ready."""
        await self.kill()
        await self.start()

    async def stop(self, *, grace: float = 10.0) -> None:
        """SIGTERM (a clean shutdown), SIGKILL after ``grace`` seconds; a no-op if not running."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        self._mark(f"stopped (exit code {process.returncode})")

    def tail(self, lines: int = 40) -> str:
        """The last ``lines`` of its log (every start appends to the same file)."""
        try:
            text = self.log_path.read_bytes().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _exit_code(self) -> int | None:
        return None if self._process is None else self._process.returncode

    def _mark(self, what: str) -> None:
        with self.log_path.open("a") as log:
            log.write(f"--- harness: {self.name} {what} at {datetime.now(UTC).isoformat()}\n")

    async def _wait_ready(self, within: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        last = "no answer yet"
        async with httpx.AsyncClient(timeout=5.0) as client:
            while True:
                if not self.running:
                    raise HarnessError(
                        f"{self.name} exited (code {self._exit_code()}) before it was ready:\n"
                        + self.tail()
                    )
                try:
                    answer = await client.get(f"{self.url}/readyz")
                    if answer.status_code == 200:
                        return
                    last = f"{answer.status_code} {answer.text}"
                except httpx.TransportError as error:
                    last = repr(error)
                if loop.time() > deadline:
                    raise HarnessError(
                        f"{self.name} not ready after {within:.0f} s (last: {last}):\n"
                        + self.tail()
                    )
                await asyncio.sleep(0.2)


@dataclass(frozen=True)
class EventRow:
    """One row of a service's ``events`` table."""

    event_id: uuid.UUID
    stream_id: str
    version: int
    type: str
    data: dict[str, Any]


@dataclass(frozen=True)
class TopicRecord:
    """One record of a topic, with the event id of its ``ce_id`` header."""

    event_id: uuid.UUID
    type: str
    key: str
    partition: int
    offset: int
    raw: bytes = field(default=b"", repr=False)
    """The record's key, value and header values as they lie on the broker."""


async def read_topic(bootstrap_servers: str, topic: str) -> list[TopicRecord]:
    """Every record of ``topic``, all partitions from the beginning up to the end they had when
    the read began (later records may come or not)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described.get("error_code"):
        raise HarnessError(f"topic {topic}: error {described['error_code']}")
    # no consumer group: every partition is assigned here, read from the beginning
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        assigned = [TopicPartition(topic, p["partition"]) for p in described["partitions"]]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(assigned)
        records: list[TopicRecord] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, messages in batch.items():
                for message in messages:
                    if message.offset >= ends[tp]:
                        continue
                    headers = {name: value.decode() for name, value in message.headers}
                    records.append(
                        TopicRecord(
                            event_id=uuid.UUID(headers["ce_id"]),
                            type=headers.get("ce_type", ""),
                            key=(message.key or b"").decode(),
                            partition=tp.partition,
                            offset=message.offset,
                            raw=b"\n".join(
                                [message.key or b"", message.value or b""]
                                + [value for _, value in message.headers]
                            ),
                        )
                    )
        return records
    finally:
        await consumer.stop()


def _cli_name(service: str) -> str:
    return service.replace("_", "-")


def _events_module(service: str) -> str:
    """The module that registers a service's event models (its ``wangge.events`` entry point),
    which a standalone relay imports to know the types it publishes."""
    for entry in entry_points(group="wangge.events"):
        if entry.name == service:
            return entry.value
    raise HarnessError(f"no service {service!r} in the wangge.events entry points")


class System:
    """One test's deployment on the shared ``Servers``: a database per service, a Kafka
    namespace of its own, the processes it started and their logs under ``folder``.

    Use it as an async context manager (the ``system`` fixture does): leaving it stops every
    process it started.
    """

    def __init__(self, servers: Servers, folder: Path, *, partitions: int = 4) -> None:
        self.servers = servers
        self.folder = folder
        self.partitions = partitions
        self.namespace = f"s{uuid.uuid4().hex[:10]}"
        self.data_dir = folder / "data"
        # made before any process starts, so that none races another to create the key
        self.issuer = DevIssuer(self.data_dir / "dev-issuer.pem")
        self.hotline_secret = secrets.token_hex(16)
        self.processes: list[Process] = []
        self.http = httpx.AsyncClient(timeout=30.0)
        self._prepared: dict[str, asyncio.Lock] = {}
        self._done: set[str] = set()

    async def __aenter__(self) -> System:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop every process (SIGTERM, SIGKILL if one lingers) and the HTTP client."""
        await asyncio.gather(*(process.stop(grace=5.0) for process in self.processes))
        await self.http.aclose()

    def database_url(self, service: str) -> str:
        """The service's own database (SQLAlchemy URL)."""
        return self.servers.database(f"{self.namespace}_{service}")

    def topic(self, service: str) -> str:
        """The topic the service publishes to, in this test's namespace."""
        return f"{self.namespace}.{service}.events"

    def environment(self, service: str, *, relay_in_process: bool = True) -> dict[str, str]:
        """The variables a process of ``service`` runs with (the settings of a deployment)."""
        return {
            **_clean_environment(),
            "PYTHONUNBUFFERED": "1",
            "WANGGE_ENVIRONMENT": "test",
            "WANGGE_DATABASE_URL": self.database_url(service),
            "WANGGE_KAFKA_BOOTSTRAP_SERVERS": self.servers.bootstrap_servers,
            "WANGGE_KAFKA_NAMESPACE": self.namespace,
            "WANGGE_KAFKA_PARTITIONS": str(self.partitions),
            "WANGGE_RELAY_IN_PROCESS": "true" if relay_in_process else "false",
            "WANGGE_DATA_DIR": str(self.data_dir),
            "WANGGE_HOTLINE_SIGNING_SECRET": self.hotline_secret,
        }

    async def start_service(
        self,
        service: str,
        *,
        relay_in_process: bool = True,
        env: Mapping[str, str] | None = None,
        args: Sequence[str] = (),
    ) -> Process:
        """A new process of ``service`` (``wangge <service> run``), ready. Its database is made
        and migrated first, once (a deployment's migration step). Several processes of one
        service share its database and consumer groups."""
        await self._prepare(service)
        environment = {**self.environment(service, relay_in_process=relay_in_process)}
        environment.update(env or {})
        port = free_port()
        argv = [str(BIN / "wangge"), _cli_name(service), "run", "--port", str(port)]
        argv.append("--no-migrate-first")  # migrated above, once, as a deployment's step does
        argv.extend(args)
        process = self._process(service, argv, environment, port)
        await process.start()
        return process

    async def start_relay(self, service: str) -> Process:
        """The standalone outbox relay of ``service`` (``wangge-events relay``), for a service
        started with ``relay_in_process=False``. It serves no API: it is started, not awaited."""
        await self._prepare(service)
        argv = [
            str(BIN / "wangge-events"),
            "relay",
            "--service", service,
            "--database-url", self.database_url(service),
            "--bootstrap-servers", self.servers.bootstrap_servers,
            "--topic", self.topic(service),
            "--partitions", str(self.partitions),
            "--catalogue", _events_module(service),
        ]  # fmt: skip
        process = self._process(f"{service}-relay", argv, _clean_environment(), None)
        process.env["PYTHONUNBUFFERED"] = "1"
        await process.start()
        return process

    def headers(
        self, *roles: str, places: Sequence[str] = (), subject: str | None = None
    ) -> dict[str, str]:
        """A bearer token of the dev issuer every process trusts (what ``wangge token
        --data-dir`` prints), as request headers."""
        token = self.issuer.issue(
            subject or f"user-{uuid.uuid4().hex[:8]}", roles=roles, places=places
        )
        return {"Authorization": f"Bearer {token}"}

    async def sql(self, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
        """Run one statement on the service's database, as an operator with ``psql`` would."""
        connection = await asyncpg.connect(_libpq_url(self.database_url(service)))
        try:
            return list(await connection.fetch(query, *args))
        finally:
            await connection.close()

    async def events(self, service: str) -> list[EventRow]:
        """Every row of the service's ``events`` table, in position order."""
        connection = await asyncpg.connect(_libpq_url(self.database_url(service)))
        try:
            rows = await connection.fetch(
                "SELECT event_id, stream_id, version, type, data FROM events ORDER BY position"
            )
        finally:
            await connection.close()
        return [
            EventRow(
                event_id=row["event_id"],
                stream_id=row["stream_id"],
                version=row["version"],
                type=row["type"],
                data=json.loads(row["data"]),
            )
            for row in rows
        ]

    async def topic_records(self, service: str) -> list[TopicRecord]:
        """Every record of the service's topic, to its end."""
        return await read_topic(self.servers.bootstrap_servers, self.topic(service))

    def log_tails(self, lines: int = 30) -> list[tuple[str, str]]:
        """The end of every process's log: what a failing test prints."""
        return [(process.name, process.tail(lines)) for process in self.processes]

    def _process(
        self, prefix: str, argv: list[str], env: dict[str, str], port: int | None
    ) -> Process:
        number = 1 + sum(1 for p in self.processes if p.name.startswith(f"{prefix}-"))
        name = f"{prefix}-{number}" if port is not None else prefix
        process = Process(name, argv, env, self.folder / f"{name}.log", port)
        self.processes.append(process)
        return process

    async def _prepare(self, service: str) -> None:
        lock = self._prepared.setdefault(service, asyncio.Lock())
        async with lock:
            if service in self._done:
                return
            admin = await asyncpg.connect(_libpq_url(self.servers.database_url))
            try:
                await admin.execute(f'CREATE DATABASE "{self.namespace}_{service}"')
            finally:
                await admin.close()
            await self._migrate(service)
            self._done.add(service)

    async def _migrate(self, service: str) -> None:
        log_path = self.folder / f"{_cli_name(service)}-migrate.log"
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                str(BIN / "wangge"),
                _cli_name(service),
                "migrate",
                env=self.environment(service),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        if await process.wait() != 0:
            raise HarnessError(f"{service} migrate failed:\n{_tail(log_path)}")


def _libpq_url(url: str) -> str:
    """asyncpg's form of a SQLAlchemy URL (no ``+driver``)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.split('+')[0]}://{rest}"


def _tail(path: Path, lines: int = 40) -> str:
    with path.open("rb") as handle:
        return "\n".join(handle.read().decode(errors="replace").splitlines()[-lines:])


__all__ = [
    "EventRow",
    "HarnessError",
    "Process",
    "Servers",
    "System",
    "TopicRecord",
    "free_port",
    "read_topic",
]
