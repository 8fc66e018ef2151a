"""Extreme query parameters (a fuzzer's favourites) are refused naming the parameter, never a
500 from an overflow in the database or in the conversion of a time to UTC: a 422, and under
/xapi a 400 (the xAPI specification's status)."""

from __future__ import annotations

from typing import Any

from wangge.service.testing import Running
from wangge.training.config import TrainingSettings

Training = Running[TrainingSettings]

XAPI = {"X-Experience-API-Version": "1.0.3"}


def _trainer(training: Training) -> Any:
    return {**training.as_("trainer", places=["320111001"]), **XAPI}


async def test_a_statements_cursor_beyond_any_statement_number_is_refused(
    training: Training,
) -> None:
    for cursor in ("99999999999999999999", str(2**63 - 1), str(2**31), "-1"):
        response = await training.client.get(
            "/xapi/statements", params={"cursor": cursor}, headers=_trainer(training)
        )
        assert response.status_code == 400, (cursor, response.text)
        assert [e["field"] for e in response.json()["errors"]] == ["query/cursor"]
    last = await training.client.get(
        "/xapi/statements", params={"cursor": str(2**31 - 1)}, headers=_trainer(training)
    )
    assert last.status_code == 200, last.text
    assert last.json()["statements"] == []


async def test_a_time_at_the_edges_of_the_calendar_is_refused_naming_the_field(
    training: Training,
) -> None:
    reads = [
        ("/xapi/statements", "since"), ("/xapi/statements", "until"), ("/sessions", "since"),
        ("/sessions", "until"), ("/forums", "since"), ("/forums", "until"),
        ("/coverage", "since"),
    ]  # fmt: skip
    edges = ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")
    for path, name in reads:
        for moment in (*edges, "0001-01-01T00:00:00") if path.startswith("/xapi") else edges:
            response = await training.client.get(
                path, params={name: moment}, headers=_trainer(training)
            )
            expected = 400 if path.startswith("/xapi") else 422
            assert response.status_code == expected, (path, name, moment, response.text)
            assert [e["field"] for e in response.json()["errors"]] == [f"query/{name}"]
        fine = await training.client.get(
            path, params={name: "2026-01-01T00:00:00+08:00"}, headers=_trainer(training)
        )
        assert fine.status_code == 200, (path, name, fine.text)


async def test_days_times_and_numbers_out_of_range_in_a_body_are_a_422_naming_the_field(
    training: Training,
) -> None:
    worker = "00000000-0000-0000-0000-000000000001"
    session = "00000000-0000-0000-0000-000000000002"
    ask: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/sessions", {"topic": "t", "instructors": [{"name": "n", "kind": "staff"}],
                               "place": "p", "capacity": 1,
                               "starts_at": "0001-01-01T00:00:00+14:00",
                               "ends_at": "2026-01-01T10:00:00+08:00"}, "body/starts_at"),
        ("POST", "/forums", {"topic": "t", "place": "p", "participants": [worker],
                             "held_at": "9999-12-31T23:59:59-14:00"}, "body/held_at"),
        ("POST", "/secondments", {"worker_id": worker, "host_kind": "other", "host": "h",
                                  "starts_on": "9999-12-31", "ends_on": "2026-01-31",
                                  "mentor": "m", "goals": ["g"]}, "body/starts_on"),
        ("PUT", f"/sessions/{session}/assessments/{worker}", {"score": 1e300}, "body/score"),
        ("POST", f"/handbooks/{session}/acknowledgements",
         {"worker_id": worker, "edition": 2**31}, "body/edition"),
    ]  # fmt: skip
    for method, path, body, field in ask:
        response = await training.client.request(
            method, path, json=body, headers=_trainer(training)
        )
        assert response.status_code == 422, (path, response.text)
        assert [e["field"] for e in response.json()["errors"]] == [field], response.text
