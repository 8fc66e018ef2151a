"""Fixtures of the system tests: ``servers`` (PostgreSQL and Kafka of their own, one pair per
test session) and ``system`` (one test's deployment on them). See ``system_support``."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest

from system_support import HarnessError, Servers, System


@pytest.fixture(scope="session")
def servers(request: pytest.FixtureRequest) -> Iterator[Servers]:
    """A PostgreSQL cluster and a Kafka broker for the system tests alone, stopped at the end of
    the session whatever happened; their files are removed unless a test failed."""
    # Not pytest's tmp_path: its base folder is private to the user running the tests, and as
    # root the cluster runs as the postgres user, who must be able to reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="wangge-system-"))
    folder.chmod(0o755)
    try:
        started = Servers.start(folder)
    except HarnessError as error:
        shutil.rmtree(folder, ignore_errors=True)
        if os.environ.get("WANGGE_REQUIRE_SERVICES") == "1":
            pytest.fail(str(error))
        pytest.skip(f"the system tests' servers did not start: {error}")
    try:
        yield started
    finally:
        started.close()
        if request.session.testsfailed:
            print(f"\nthe system tests' servers' files are kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def system(servers: Servers, tmp_path: Path) -> AsyncIterator[System]:
    """One test's deployment: a database per service, a Kafka namespace of its own, processes
    and their logs under the test's ``tmp_path``; every process is stopped at the end, and both
    servers are running again for the next test."""
    try:
        async with System(servers, tmp_path) as deployment:
            yield deployment
    finally:
        await servers.ensure_running()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed system test's report ends with the tail of every process's log."""
    report = yield
    deployment = getattr(item, "funcargs", {}).get("system")
    if report.when == "call" and report.failed and isinstance(deployment, System):
        for name, tail in deployment.log_tails():
            report.sections.append((f"log of {name} (last lines)", tail))
    return report
