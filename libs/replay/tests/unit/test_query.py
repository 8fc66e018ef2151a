"""A dataset opened in DuckDB names every type the catalogue knows, held or not."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from wangge.events.contract import published_catalogue
from wangge.events.envelope import Checkpoint, Envelope
from wangge.events.store import StoredEvent
from wangge.replay import policy as policies
from wangge.replay.dataset import STATE, Dataset
from wangge.replay.pseudonyms import pseudonymiser
from wangge.replay.query import connect
from wangge.replay.rows import Rows, record_of

FORUM_HELD = "wangge.training.ForumHeld"


def test_a_type_with_no_event_in_the_dataset_is_an_empty_view_of_its_columns(
    tmp_path: Path,
) -> None:
    rows = Rows(published_catalogue(), policies.load(None), pseudonymiser(b"k" * 32))
    envelope = Envelope(
        id=uuid.uuid4(), source="/wangge/registry", type="wangge.registry.GridWorkerAssigned",
        subject="grid-1", time=datetime(2026, 11, 3, 1, tzinfo=UTC),
        dataschema="urn:wangge:schema:wangge.registry.GridWorkerAssigned:1", sequence=1,
    )  # fmt: skip
    data = {"grid_id": str(uuid.uuid4()), "worker_id": str(uuid.uuid4()), "since": "2026-11-03"}
    event = StoredEvent(envelope, 1, Checkpoint(0, 0), json_data=json.dumps(data).encode())
    table = rows.table(envelope.type, [record_of(event, 0, 0)])
    Dataset(tmp_path).write_chunk(
        "wangge.registry.events", 0, 0, {(envelope.type, "2026-11"): table}, "parquet"
    )
    (tmp_path / STATE).mkdir()
    (tmp_path / STATE / "manifest.json").write_text(json.dumps({"format": "parquet"}))
    db = connect(tmp_path)
    assert db.execute("SELECT count(*) FROM registry.GridWorkerAssigned").fetchone() == (1,)
    assert db.execute("SELECT count(*) FROM training.ForumHeld").fetchone() == (0,)
    held = {row[0] for row in db.execute("DESCRIBE training.ForumHeld").fetchall()}
    written = set(rows.layout(FORUM_HELD).schema.names)
    assert written <= held and {"topic", "type", "month"} <= held
