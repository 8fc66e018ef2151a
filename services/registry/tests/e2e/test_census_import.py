"""Census files into the register: good rows in, bad rows out with reasons, re-runs safe."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from wangge.events.projection import ProjectionRunner, active_tables
from wangge.events.sources import StoreSource
from wangge.registry.bootstrap import registry as open_registry
from wangge.registry.census import COLUMNS, CensusImport, Rejected, read_rows
from wangge.registry.config import RegistrySettings
from wangge.registry.seeding import seed_tree
from wangge.registry.synthetic import Generator, write_csv
from wangge.service.cli import app as wangge

from registry_support import Registry, identity_number, started_without_app

CENSUS_DAY = date(2026, 11, 27)


def _row(**values: str) -> dict[str, str]:
    row = dict.fromkeys(COLUMNS, "")
    row.update(
        grid_code="320111001-001-001", building_number="1栋", unit_number="1单元",
        dwelling_number="101", dwelling_usage="owner_occupied", household_number="H-1",
        household_type="family", relationship="head", name="甲", hukou_type="local",
        residence_status="resident", identity_number=identity_number(),
    )  # fmt: skip
    row.update(values)
    return row


async def test_a_synthetic_census_imports_whole_and_a_rerun_adds_nothing(
    registry: Registry,
) -> None:
    generator = Generator(seed=7, size="tiny")
    rows = list(generator.residents())
    async with open_registry(registry.settings) as parts:
        await seed_tree(parts, generator)
        first = CensusImport(parts, census_date=CENSUS_DAY)
        await first.load()
        rejected: list[Rejected] = []
        report = await first.run(enumerate(rows, 1), batch_size=40, on_reject=rejected.append)
        assert rejected == []
        assert report.imported == len(rows)
        assert report.households == len({r["household_number"] for r in rows})
        again = CensusImport(parts, census_date=CENSUS_DAY)
        await again.load()
        rerun = await again.run(enumerate(rows, 1), batch_size=40)
        assert (rerun.imported, rerun.skipped, rerun.events) == (0, len(rows), 0)
        assert await parts.catch_up() == 0  # every event was applied in its own transaction
    admin = registry.as_("subdistrict_admin", places=[generator.subdistrict().code])
    roll_up = (await registry.client.get("/reports/grids", headers=admin)).json()
    assert len(roll_up) == len(generator.subdistrict().grids)
    living = sum(g["residents"] + g["floating"] + g["lodging"] for g in roll_up)
    expected = sum(r["residence_status"] in ("resident", "floating", "lodging") for r in rows)
    assert living == expected
    assert sum(g["households"] for g in roll_up) == report.households
    head = rows[0]
    households = await registry.client.get(
        "/households", params={"number": head["household_number"]}, headers=admin
    )
    (household,) = households.json()["items"]
    card = await registry.client.get(f"/households/{household['household_id']}", headers=admin)
    members = [r for r in rows if r["household_number"] == head["household_number"]]
    staying = [r for r in members if r["residence_status"] not in ("moved_out", "deceased")]
    assert len(card.json()["members"]) == len(staying)
    assert card.json()["members"][0]["name_masked"][0] == head["name"][0]


async def test_bad_rows_are_rejected_with_every_reason_and_good_ones_imported(
    registry: Registry,
) -> None:
    generator = Generator(seed=7, size="tiny")
    rows = [
        (2, _row()),
        (3, _row(relationship="spouse", name="乙", identity_number="320111198001010010")),
        (4, _row(relationship="child", name="丙", moved_in_on="2026-13-01", tags="rich")),
        (5, _row(household_number="H-2", relationship="child", name="丁")),
        (6, _row(household_number="H-3", grid_code="320111001-009-009", name="戊")),
        (7, _row(relationship="spouse", name="己", phone="123")),
        (8, _row(relationship="child", name="庚", dwelling_number="102")),
    ]
    async with open_registry(registry.settings) as parts:
        await seed_tree(parts, generator)
        importer = CensusImport(parts, census_date=CENSUS_DAY)
        await importer.load()
        rejected: list[Rejected] = []
        report = await importer.run(rows, on_reject=rejected.append)
    reasons = {r.line: r.reasons for r in rejected}
    assert report.imported == 2  # the head, and the child written at another door of H-1
    assert sorted(reasons) == [3, 4, 5, 6, 7]
    assert any("check digit" in r for r in reasons[3])
    assert any(r.startswith("moved_in_on") for r in reasons[4])
    assert any(r.startswith("tags") for r in reasons[4])
    assert any("head comes first" in r for r in reasons[5])
    assert any("no grid 320111001-009-009" in r for r in reasons[6])
    assert any(r.startswith("phone") for r in reasons[7])


async def test_a_batch_that_loses_an_identity_race_is_planned_again_from_a_clean_slate(
    registry: Registry,
) -> None:
    # a batch joins a household of an earlier batch and registers a person whom a clerk
    # registers through the API meanwhile: the write fails on the identity index, and the batch
    # is planned again, now skipping that person and joining at the household's real version
    generator = Generator(seed=7, size="tiny")
    raced = identity_number()
    first = [(2, _row())]
    second = [
        (3, _row(relationship="spouse", name="乙")),
        (4, _row(household_number="H-2", dwelling_number="102", identity_number=raced)),
        (5, _row(household_number="H-2", dwelling_number="102", relationship="child", name="丁")),
    ]
    async with open_registry(registry.settings) as parts:
        await seed_tree(parts, generator)
        importer = CensusImport(parts, census_date=CENSUS_DAY)
        await importer.load()
        await importer.run(first)
        admin = registry.as_("subdistrict_admin", places=[generator.subdistrict().code])
        places = await registry.client.get(
            "/places", params={"kind": "dwelling", "number": "101"}, headers=admin
        )
        dwelling = places.json()["items"][0]["place_id"]
        clerk = await registry.client.post(
            "/persons",
            json={"name": "戊", "identity_number": raced, "hukou_type": "local",
                  "residence_status": "resident", "dwelling_id": dwelling},
            headers=admin,
        )  # fmt: skip
        assert clerk.status_code == 201, clerk.text
        rejected: list[Rejected] = []
        report = await importer.run(second, on_reject=rejected.append)
    assert (report.imported, report.skipped) == (2, 1)
    # the child's household had its head skipped: it is rejected, with the reason
    assert [r.line for r in rejected] == [5]
    households = await registry.client.get("/households", params={"number": "H-1"}, headers=admin)
    (household,) = households.json()["items"]
    card = await registry.client.get(f"/households/{household['household_id']}", headers=admin)
    assert [m["name_masked"][0] for m in card.json()["members"]] == ["甲", "乙"]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command line on a migrated SQLite register of its own in ``tmp_path``."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setenv("WANGGE_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(wangge, ["registry", "migrate"]).exit_code == 0
    return runner


def test_the_command_imports_a_file_and_writes_a_reject_file(
    tmp_path: Path, cli: CliRunner
) -> None:
    seeded = cli.invoke(wangge, ["registry", "seed", "--size", "tiny", "--seed", "5"])
    assert seeded.exit_code == 0, seeded.output
    assert "imported" in seeded.output
    census = tmp_path / "more.csv"
    generator = Generator(seed=5, size="tiny")
    extra = [_row(grid_code=generator.subdistrict().grids[0].code, household_number="X-1"),
             _row(grid_code="999", household_number="X-2")]  # fmt: skip
    write_csv(extra, census)
    result = cli.invoke(wangge, ["registry", "import", str(census)])
    assert result.exit_code == 0, result.output
    assert "1 imported" in result.output and "1 rejected" in result.output
    with (tmp_path / "more.csv.rejects.csv").open(encoding="utf-8") as handle:
        (bad,) = list(csv.DictReader(handle))
    assert bad["line"] == "3" and "grid_code" in bad["reasons"]
    again = cli.invoke(wangge, ["registry", "seed", "--size", "tiny", "--seed", "5"])
    assert "seeded already" in again.output and "seeding" not in again.output  # no bar
    assert [line for line, _ in read_rows(census)] == [2, 3]


async def test_the_bulk_import_leaves_the_read_models_a_replay_would(
    registry_settings: RegistrySettings,
) -> None:
    generator = Generator(seed=11, size="tiny")
    # no running app here: its runners would follow the rebuild only within a second
    async with started_without_app(registry_settings) as parts:
        await seed_tree(parts, generator)
        importer = CensusImport(parts, census_date=CENSUS_DAY)
        await importer.load()
        await importer.run(enumerate(generator.residents(), 1), batch_size=64)
        imported = await _snapshot(parts)
        for projection in parts.projections:
            runner = ProjectionRunner(
                projection, engine=parts.store.engine, source=StoreSource(parts.store)
            )
            await runner.rebuild()  # event by event, through the handlers
        replayed = await _snapshot(parts)
        assert replayed == imported
        joined = [r for r in imported["persons"] if r[10] != "None"]  # household_id
        assert joined, "members carry their household"


async def _snapshot(parts: Any) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with parts.store.engine.connect() as conn:
        for projection in parts.projections:
            for name, table in (await active_tables(conn, projection)).items():
                columns = [c for c in table.c if c.name not in ("residence_id", "membership_id")]
                rows = await conn.execute(sa.select(*columns))
                out[name] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def test_parallel_workers_split_the_file_by_grid_and_merge_their_rejects(
    tmp_path: Path, cli: CliRunner
) -> None:
    tree = cli.invoke(wangge, ["registry", "seed", "--size", "tiny", "--seed", "3", "--tree-only"])
    assert tree.exit_code == 0, tree.output
    census = tmp_path / "census.jsonl"
    rows = list(Generator(seed=3, size="tiny").residents())
    rows.insert(5, _row(grid_code="320111001-009-009", household_number="BAD"))
    from wangge.registry.synthetic import write_jsonl

    write_jsonl(rows, census)
    result = cli.invoke(wangge, ["registry", "import", str(census), "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert f"{len(rows) - 1} imported" in result.output and "1 rejected" in result.output
    with (tmp_path / "census.jsonl.rejects.csv").open(encoding="utf-8") as handle:
        (bad,) = list(csv.DictReader(handle))
    assert bad["line"] == "6"
    again = cli.invoke(wangge, ["registry", "import", str(census), "--workers", "2"])
    assert f"{len(rows) - 1} already registered" in again.output
