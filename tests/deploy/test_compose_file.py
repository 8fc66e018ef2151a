"""docker-compose.yml as Compose v2 reads it: loaded by compose-go, the Compose Specification's
reference loader that `docker compose` is built on (scripts/deploy/compose-check, built from the
Go module proxy). The stack itself runs on Debian's docker-compose 1.29 in make test-deploy, so
between them both readers of the file are covered."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "hotline-bridge", "cases", "training", "views")


@pytest.fixture(scope="module")
def compose_check() -> Path:
    built = ROOT / ".dev" / "bin" / "compose-check"
    built.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["go", "build", "-o", str(built), "."],
        cwd=ROOT / "scripts" / "deploy" / "compose-check", check=True, capture_output=True,
    )  # fmt: skip
    return built


def _load(tool: Path, compose: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool), str(compose), str(ROOT / ".env.example")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_compose_v2_loads_the_stack_and_every_service_waits_for_its_steps(
    compose_check: Path,
) -> None:
    loaded = _load(compose_check, ROOT / "docker-compose.yml")
    assert loaded.returncode == 0, loaded.stderr
    waits = dict(line.split("\t") for line in loaded.stdout.strip().splitlines())
    for service in SERVICES:
        conditions = set(waits[service].split(","))
        assert f"{service}-migrate=service_completed_successfully" in conditions, service
        assert "kafka-topics=service_completed_successfully" in conditions, service
    assert waits["kafka-topics"] == "kafka=service_healthy"
    assert "otel-collector" in waits  # the optional profile's service


def test_a_file_compose_v2_refuses_is_refused(compose_check: Path, tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    text = (ROOT / "docker-compose.yml").read_text()
    # a condition the Compose Specification does not know
    broken.write_text(text.replace("condition: service_healthy", "condition: service_up", 1))
    loaded = _load(compose_check, broken)
    assert loaded.returncode == 1 and "condition" in loaded.stderr, loaded.stderr
