"""The analysts' mediation outcomes equal what the cases service reads case by case: disputes
and a complaint on two grids mediated through the cases service's API, to an agreement honoured,
one not honoured, one not followed up, and without an agreement (resolved, reopened and closed;
reopened; or still open), beside a dispute never mediated; the registry's and the cases
service's events replayed into a pseudonymised dataset; the cookbook's query in
docs/analytics.md gives, for every grid and month, what ``GET /cases/{case_id}`` says of those
cases, summed."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from wangge.governance.hotline_figures import CST
from wangge.replay.query import connect

from replay_support import cookbook, replayed, rows_of
from trio_support import OTHER_WORKER, Trio, eventually, json_of, worker_known

FIGURES = ("mediated", "sessions", "agreements", "honoured", "not_honoured", "resolved")


@dataclass(frozen=True)
class Dispute:
    """How one case goes: its kind, sessions held, agreement and follow-ups, and its end."""

    kind: str = "dispute"
    sessions: int = 1
    agreement: bool = False
    follow_ups: tuple[bool, ...] = ()
    end: tuple[str, ...] = ()
    """Steps after mediation: resolve, reopen, close."""


DISPUTES: list[tuple[int, Dispute]] = [  # (grid: 0 the tree's, 1 the second; the case)
    (0, Dispute(sessions=2, agreement=True, follow_ups=(True,), end=("resolve",))),
    (0, Dispute(agreement=True, follow_ups=(True, False), end=("resolve", "close"))),
    (0, Dispute(end=("resolve", "reopen", "resolve", "close"))),
    (0, Dispute(sessions=0)),
    (0, Dispute(kind="complaint", agreement=True)),
    (1, Dispute(sessions=3, agreement=True, follow_ups=(True,), end=("resolve",))),
    (1, Dispute()),
    (1, Dispute(end=("resolve", "reopen"))),
]


class Case:
    """One case driven through the API by a caller who may."""

    def __init__(self, trio: Trio, case_id: str, headers: Any) -> None:
        self.client, self.path = trio.cases.client, f"/cases/{case_id}"
        self.headers, self.supervisor = headers, trio.staff()

    async def post(self, step: str, body: Any = None, status: int = 200) -> Any:
        headers = self.supervisor if step in ("close", "reopen") else self.headers
        return await json_of(
            await self.client.post(f"{self.path}/{step}", json=body, headers=headers), status
        )


async def _mediated(case: Case, dispute: Dispute, today: date) -> None:
    parties = []
    for role, resident in (("applicant", "p-1101"), ("respondent", "p-1201")):
        joined = await case.post("parties", {"role": role, "resident": resident}, 201)
        parties.append(joined["party_id"])
    await case.post("mediators", {"mediator": "刘调解", "organisation": "人民调解委员会"})
    for n in range(dispute.sessions):
        held = (datetime.now(CST) - timedelta(hours=n + 1)).isoformat()
        await case.post(
            "sessions",
            {"held_at": held, "place": "社区调解室", "attendees": parties,
             "mediators": ["刘调解"], "summary": "双方陈述", "signed_by": parties},
            201,
        )  # fmt: skip
    if dispute.agreement:
        await case.post(
            "agreement",
            {"signed_by": parties, "facts": "渗漏", "dispute": "维修", "responsibilities": "楼上",
             "terms": "修复", "performance": "现金", "perform_by": str(today + timedelta(days=7)),
             "signed_on": str(today)},
            201,
        )  # fmt: skip
    for honoured in dispute.follow_ups:
        await case.post("agreement/follow-up", {"honoured": honoured, "note": "回访"})
    steps = {
        "resolve": {"resolution": "调解结束", "solved": dispute.agreement},
        "reopen": {"reason": "又起争执"},
        "close": {"note": "结案"},
    }
    for step in dispute.end:
        await case.post(step, steps[step])


async def _flow(trio: Trio, today: date) -> list[str]:
    """The cases, in the order of DISPUTES; their ids."""
    appointed = await trio.registry.client.post(
        "/workers",
        json={"account": OTHER_WORKER, "name": "李娜", "grid_ids": [trio.second_grid],
              "on": "2026-01-01"},
        headers=trio.tree.admin,
    )  # fmt: skip
    assert appointed.status_code == 201, appointed.text
    await eventually(lambda: worker_known(trio, trio.second_grid, OTHER_WORKER), what="roster")
    grids = [
        (trio.tree.grid, trio.worker()),
        (trio.second_grid, trio.worker(OTHER_WORKER, f"{trio.tree.community_code}-002")),
    ]
    ids = []
    for grid, dispute in DISPUTES:
        grid_id, headers = grids[grid]
        body = {"kind": dispute.kind, "source": "walk_in", "title": "邻里纠纷", "grid_id": grid_id}
        opened = await json_of(
            await trio.cases.client.post("/cases", json=body, headers=headers), 201
        )
        case = Case(trio, opened["case_id"], headers)
        await case.post("accept")
        if dispute.sessions:
            await _mediated(case, dispute, today)
        ids.append(opened["case_id"])
    return ids


async def _read(trio: Trio, ids: list[str]) -> dict[tuple[str, str], dict[str, int]]:
    """The figures summed from each case as the cases service reads it."""
    codes = {
        trio.tree.grid: trio.tree.grid_code,
        trio.second_grid: f"{trio.tree.community_code}-002",
    }
    found: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for case_id in ids:
        read = await json_of(await trio.cases.client.get(f"/cases/{case_id}", headers=trio.staff()))
        mediation = await json_of(
            await trio.cases.client.get(f"/cases/{case_id}/mediation", headers=trio.staff())
        )
        assert len(mediation["sessions"]) == read["sessions"]
        if not read["sessions"]:
            continue
        opened = datetime.fromisoformat(read["opened_at"]).astimezone(CST)
        figures = found[(codes[read["grid_id"]], opened.strftime("%Y-%m"))]
        figures["mediated"] += 1
        figures["sessions"] += read["sessions"]
        figures["agreements"] += read["agreement_id"] is not None
        figures["honoured"] += read["honoured"] is True
        figures["not_honoured"] += read["honoured"] is False
        figures["resolved"] += read["status"] in ("resolved", "closed")
    return dict(found)


async def test_the_cookbooks_mediation_outcomes_equal_the_cases_as_the_service_reads_them(
    trio: Trio, tmp_path: Path
) -> None:
    ids = await _flow(trio, datetime.now(CST).date())
    out = tmp_path / "replay"
    await replayed(out, {"registry": trio.registry, "cases": trio.cases})
    with connect(out) as db:
        rows = rows_of(db, cookbook("mediation_outcomes_per_grid_and_month"))
    assert len({r["grid"] for r in rows}) == 2
    computed = {(r["grid"], r["month"]): {f: r[f] for f in FIGURES} for r in rows}
    assert computed == await _read(trio, ids)
    rates = {r["agreement_rate"] for r in rows}
    assert rates - {None, 0, 1}, rates  # a mix, not a constant
