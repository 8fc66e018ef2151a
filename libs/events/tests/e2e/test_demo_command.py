"""``make run``'s embedded demo, end to end through the installed command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _demo(data_dir: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "wangge.events", "demo", "--data-dir", str(data_dir), "--once"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.splitlines()


def test_the_demo_seeds_a_subdistrict_and_projects_it_once_however_often_it_runs(
    tmp_path: Path,
) -> None:
    first = _demo(tmp_path)
    assert first[0].startswith("Wangge demo: subdistrict 320111001")
    rows = [line.split() for line in first[2:]]
    assert [row[0] for row in rows] == [
        "320111001-001-001",
        "320111001-001-002",
        "320111001-002-001",
        "320111001-002-002",
    ]
    assert all(row[1] == "5" for row in rows)
    assert (tmp_path / "demo.db").exists()
    again = _demo(tmp_path)
    assert again[2:] == first[2:], "a second run must not seed or project anything twice"
