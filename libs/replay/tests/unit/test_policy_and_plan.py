"""The policy read through the catalogue's schemas: what is written of each field, and how."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from wangge.events.contract import event_schema, published_catalogue
from wangge.events.envelope import Checkpoint, Envelope
from wangge.events.store import StoredEvent
from wangge.replay import policy as policies
from wangge.replay.chunks import resume_at
from wangge.replay.dataset import Bounds
from wangge.replay.plan import compile_plan
from wangge.replay.pseudonyms import pseudonymiser
from wangge.replay.rows import ENVELOPE, Rows, month_of, record_of, table_of

KEY = b"k" * 32
CATALOGUE = published_catalogue()


def _plan(event_type: str, policy: policies.Policy | None = None, key: bytes = KEY) -> Any:
    schema = event_schema(CATALOGUE.entry(event_type))
    return compile_plan(event_type, schema, policy or policies.load(None), pseudonymiser(key))


def _written(event_type: str, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    plan = _plan(event_type, **kwargs)
    return dict(zip([c.name for c in plan.columns], plan.row(data), strict=True))


PERSON = {
    "person_id": str(uuid.uuid4()),
    "name_masked": "王**",
    "identity_masked": "320111********123X",
    "phone_masked": "139****5678",
    "sex": "female",
    "birth_year": 1942,
    "hukou_type": "local",
    "residence_status": "resident",
    "personal": {"key": "k", "nonce": "n", "ciphertext": "c"},
}


def test_a_person_is_a_pseudonym_and_what_is_not_about_them_alone() -> None:
    written = _written("wangge.registry.PersonRegistered", PERSON)
    assert set(written) == {"person_id", "sex", "birth_year", "hukou_type", "residence_status"}
    assert written["person_id"] != PERSON["person_id"]
    assert len(written["person_id"]) == 32
    assert written["birth_year"] == 1942


def test_pseudonyms_join_under_one_key_and_differ_under_another() -> None:
    person = PERSON["person_id"]
    joined = _written(
        "wangge.registry.PersonTagged",
        {"person_id": person, "tag": "elderly", "source": "census", "valid_from": "2026-01-01"},
    )
    assert joined["person_id"] == _written("wangge.registry.PersonRegistered", PERSON)["person_id"]
    other = _written("wangge.registry.PersonRegistered", PERSON, key=b"x" * 32)
    assert other["person_id"] != joined["person_id"]


def test_a_dwellings_name_is_dropped_and_a_grids_kept() -> None:
    place: dict[str, Any] = {
        "place_id": str(uuid.uuid4()),
        "kind": "grid",
        "name": "望江社区第1网格",
        "code": "320111001-001-001",
        "boundary": {"type": "Polygon", "coordinates": [[[1.0, 2.0], [2.0, 3.0], [1.0, 2.0]]]},
    }
    grid = _written("wangge.registry.PlaceRegistered", place)
    assert grid["name"] == "望江社区第1网格"
    assert grid["boundary"].startswith('{"coordinates"')
    dwelling = _written("wangge.registry.PlaceRegistered", {**place, "kind": "dwelling"})
    assert dwelling["name"] is None
    assert "number" not in dwelling  # a door number is free text: dropped


def test_a_tickets_address_is_cut_to_its_building_and_its_point_to_100_m() -> None:
    plan = _plan("wangge.hotline_bridge.TicketReceived")
    names = {c.name for c in plan.columns}
    assert {"content", "caller", "caller_name_masked", "caller_phone_masked"}.isdisjoint(names)
    address = next(c for c in plan.columns if c.name == "address")
    assert (
        address.convert("南京市沿江街道滨江社区12幢2单元1201室", {}) == "南京市沿江街道滨江社区12栋"
    )
    location = next(c for c in plan.columns if c.name == "location")
    point = location.convert({"latitude": 32.061234, "longitude": 118.623456}, {})
    assert point == {"latitude": 32.061, "longitude": 118.623}
    number = next(c for c in plan.columns if c.name == "ticket_number")
    assert number.convert("GD2026", {}) != "GD2026"


def test_a_policy_that_cannot_be_applied_names_the_rule() -> None:
    with pytest.raises(policies.PolicyError, match=r"fields\.tag: unknown action 'shred'"):
        policies.parse('[fields]\ntag = "shred"\n')
    bad = policies.parse('[fields]\nbirth_year = "hash"\n')
    with pytest.raises(policies.PolicyError, match="birth_year: only text and identifiers"):
        _plan("wangge.registry.PersonRegistered", bad)
    with pytest.raises(policies.PolicyError, match="unknown sections: field"):
        policies.parse('[field]\ntag = "keep"\n')


def test_sealed_blocks_are_never_written_whatever_the_policy_says() -> None:
    keep_all = policies.parse('[fields]\npersonal = "keep"\n[defaults]\ntext = "keep"\n')
    names = {c.name for c in _plan("wangge.registry.PersonRegistered", keep_all).columns}
    assert "personal" not in names
    assert "name_masked" in names  # the default for text was turned to keep


def test_every_published_type_compiles_and_a_column_name_has_one_type_across_types() -> None:
    rows = Rows(CATALOGUE, policies.load(None), pseudonymiser(KEY))
    types: dict[str, set[str]] = defaultdict(set)
    for entry in CATALOGUE:
        for field in rows.layout(entry.type).schema:
            types[field.name].add(str(field.type))
    clashes = {name: kinds for name, kinds in types.items() if len(kinds) > 1}
    assert not clashes  # the whole dataset reads as one table (Spark's mergeSchema, DuckDB)
    assert {f.name for f in ENVELOPE} <= set(types)
    assert pa.types.is_timestamp(
        rows.layout("wangge.cases.CaseOpened").schema.field("deadline").type
    )


def test_a_rerun_resumes_at_the_start_of_the_chunk_its_checkpoint_is_in() -> None:
    bounds = Bounds(10, 1000)
    assert resume_at(bounds, None, 100) == 10
    assert resume_at(bounds, 200, 100) == 200
    assert resume_at(bounds, 250, 100) == 200  # an old end inside a chunk: written again whole
    assert resume_at(bounds, 50, 100) == 10
    assert resume_at(bounds, 1000, 100) == 1000


def _stored(event_type: str, data: dict[str, Any], version: int = 1) -> StoredEvent:
    envelope = Envelope(
        id=uuid.uuid4(), source="/wangge/test", type=event_type, subject=f"s-{uuid.uuid4()}",
        time=datetime(2026, 11, 30, 17, 5, tzinfo=UTC), dataschema=f"urn:x:{version}",
        sequence=3, actor="worker-1", correlationid="c-1",
    )  # fmt: skip
    return StoredEvent(envelope, version, Checkpoint(0, 1), json_data=json.dumps(data).encode())


TICKET = {
    "ticket_id": str(uuid.uuid4()), "ticket_number": "GD1", "channel": "phone",
    "received_at": "2026-11-27T09:30:00+08:00", "category": "0301", "category_name": "噪声",
    "kind": "complaint", "content": "楼下噪声 电话13812345678", "address": "滨江社区12栋2单元1201",
    "location": {"longitude": 118.73012, "latitude": 32.04123}, "urgency": "normal",
    "deadline": "2026-12-02T09:30:00+08:00", "deadline_source": "catalogue",
    "push_fingerprint": "f", "door": "hotline", "caller_name_masked": "王**",
    "caller_phone_masked": "138****5678", "caller": None,
}  # fmt: skip


PLACE = {
    "place_id": str(uuid.uuid4()), "kind": "grid", "name": "望江社区第1网格",
    "code": "320111001-001-001", "parent_id": str(uuid.uuid4()), "number": None, "usage": None,
    "boundary": {
        "type": "Polygon", "coordinates": [[[1.0, 2.0], [2.0, 2.0], [2.0, 3.0], [1.0, 2.0]]],
    },
}  # fmt: skip


def test_the_fast_way_writes_what_the_row_by_row_way_writes() -> None:
    rows = Rows(CATALOGUE, policies.load(None), pseudonymiser(KEY))
    session: dict[str, Any] = {
        "session_id": str(uuid.uuid4()), "topic": "消防", "place": "社区会议室", "capacity": 30,
        "starts_at": "2026-11-03T09:00:00+08:00", "ends_at": "2026-11-03T11:00:00+08:00",
        "instructors": [{"name": "张三", "kind": "staff", "organisation": None}],
        "materials": [{"title": "手册", "uri": "https://x/1", "media_type": None}],
        "module_code": None, "programme_id": None, "sealed": None,
    }  # fmt: skip
    merged: dict[str, Any] = {
        "person_id": str(uuid.uuid4()), "into_person_id": str(uuid.uuid4()), "moved_tags": [],
        "moved_ties": [],
    }  # fmt: skip
    samples: dict[str, list[dict[str, Any]]] = {
        "wangge.registry.PersonRegistered": [PERSON, {**PERSON, "phone_masked": None}],
        "wangge.hotline_bridge.TicketReceived": [TICKET, {**TICKET, "location": None}],
        "wangge.training.TrainingSessionScheduled": [session, {**session, "materials": []}],
        # a list of items with an enumeration, empty in every record of the chunk
        "wangge.registry.PersonMerged": [merged, merged | {"moved_tags": ["veteran"]}],
        "wangge.registry.PersonMergeUndone": [
            {"person_id": merged["person_id"], "from_person_id": merged["into_person_id"]},
        ],
        # a rule with `when` (a dwelling's name), a value kept as JSON (the boundary)
        "wangge.registry.PlaceRegistered": [
            PLACE,
            {**PLACE, "kind": "dwelling", "boundary": None, "code": None},
            PLACE,
        ],
    }
    for event_type, datas in samples.items():
        layout = rows.layout(event_type)
        assert layout.vector is not None, event_type
        gathered = [record_of(_stored(event_type, d), 0, n) for n, d in enumerate(datas)]
        fast = rows.table(event_type, gathered)
        slow = table_of([rows.row(r) for r in gathered], layout)
        assert fast.equals(slow), (event_type, fast.to_pylist(), slow.to_pylist())


def test_a_value_not_of_its_fields_type_is_kept_as_a_fact_with_its_fault() -> None:
    rows = Rows(CATALOGUE, policies.load(None), pseudonymiser(KEY))
    event_type = "wangge.registry.PersonRegistered"
    bad = {**PERSON, "birth_year": "nineteen forty-two"}
    good, wrong = _stored(event_type, PERSON), _stored(event_type, bad)
    table = rows.table(event_type, [record_of(good, 0, 0), record_of(wrong, 0, 1)])
    faults = table.column("event_fault").to_pylist()
    assert faults[0] is None and faults[1] is not None and "birth_year" in faults[1]
    assert "nineteen" not in faults[1]  # the value is not repeated: it may be personal
    assert table.column("birth_year").to_pylist() == [1942, None]
    outside = {**PERSON, "sex": "unknown"}  # parses as text, but is not one of the enumeration
    table = rows.table(event_type, [record_of(_stored(event_type, outside), 0, 0)])
    fault = table.column("event_fault").to_pylist()[0]
    assert fault is not None and "sex" in fault


def test_a_month_is_read_in_china_standard_time_from_the_relays_text_as_from_a_time() -> None:
    for text in (
        "2026-11-30T15:59:59Z",
        "2026-11-30T16:00:00Z",
        "2026-12-31T16:00:00.5Z",
        "2026-02-28T16:00:00Z",
        "2028-02-28T16:00:00Z",
        "2026-11-30T16:00:00+00:00",
    ):
        parsed = datetime.fromisoformat(text)
        assert month_of(text) == month_of(parsed), text
    assert month_of("2026-12-31T16:00:00Z") == "2027-01"
