"""The flagship walk through every service, read back from the views: a census imports a
household into the grid; a visit notes a need; a signed 12345 push becomes a complaint case that
is mediated to an agreement, resolved, replied to and rated at the 回访. Then the resident's
picture, the grid's dashboard, the justice office's feed and the matter's lineage all show it,
masked for each reader, and the dashboard's hotline figures are the hotline bridge's own. After
the resident's erasure every view shows them erased, also once rebuilt from the first event."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from wangge.hotline_bridge.domain.metrics import CST
from wangge.registry.bootstrap import registry as open_registry
from wangge.registry.census import CensusImport

from hotline_support import push, ticket
from pair_support import hotline_says
from quintet_support import Quintet, views_rebuilt
from receiver_support import FAST, Receiver
from registry_support import identity_number
from trio_support import WORKER, eventually, json_of

CENSUS_DAY = date(2026, 1, 1)
ERASURE = {"legal_ground": "consent_withdrawn"}


def _row(tree: Any, **values: str) -> dict[str, str]:
    row = dict.fromkeys(
        ("phone", "ethnicity", "occupation", "employer", "moved_in_on", "moved_in_from",
         "moved_out_on", "whereabouts", "tags"), "",
    )  # fmt: skip
    row.update(
        grid_code=tree.grid_code, building_number="12栋", unit_number="2单元",
        dwelling_number="1201", dwelling_usage="rented", household_number="H-1201",
        household_type="family", relationship="head", name="王秀英", hukou_type="local",
        residence_status="resident",
        identity_number=identity_number("19420305", sex="female"),
    )  # fmt: skip
    row.update(values)
    return row


async def _census(q: Quintet) -> None:
    """The household of 1201, imported as a census file's rows are."""
    tree = q.trio.tree
    rows = [
        _row(tree, tags="elderly_living_alone", phone="13912345678"),
        _row(tree, relationship="child", name="李明", residence_status="floating",
             identity_number=identity_number("19850611")),
    ]  # fmt: skip
    async with open_registry(q.trio.registry.settings) as parts:
        importer = CensusImport(parts, census_date=CENSUS_DAY)
        await importer.load()
        report = await importer.run(enumerate(rows, 2))
    assert report.imported == 2


async def _person(q: Quintet, name_masked: str) -> dict[str, Any]:
    reg = q.trio.registry
    found = await json_of(
        await reg.client.get("/persons", params={"dwelling_id": q.trio.tree.dwelling},
                             headers=q.trio.tree.admin)
    )  # fmt: skip
    return next(p for p in found["items"] if p["name_masked"] == name_masked)


@pytest.mark.hotline(**FAST)
async def test_a_household_to_a_rated_mediation_is_one_picture_across_departments(
    quintet: Quintet, receiver: Receiver
) -> None:
    trio, views = quintet.trio, quintet.views
    receiver.secret = trio.hotline.settings.signing_secret()
    tree = trio.tree
    await _census(quintet)
    wang = await _person(quintet, "王**")
    me = trio.registry.as_("grid_worker", places=[tree.grid_code], subject=WORKER)
    visit = await json_of(
        await trio.registry.client.post("/visits", json={
            "dwelling_id": tree.dwelling, "visited_at": datetime.now(UTC).isoformat(),
            "persons_confirmed": [wang["person_id"]],
            "needs": [{"category": "dispute", "description": "楼上装修噪声 多次争执",
                       "person_id": wang["person_id"]}],
        }, headers=me),
        201,
    )  # fmt: skip
    assert visit["needs"]

    pushed = await json_of(
        await push(trio.hotline, ticket(
            address="沿江街道滨江社区12栋2单元1201", content="楼上 1301 装修噪声 与邻居多次争执",
            received_at=datetime.now(CST).isoformat(),
        )),
        201,
    )  # fmt: skip
    assert pushed["grid_id"] == tree.grid
    worker, cases = trio.worker(), trio.cases.client

    async def in_inbox() -> Any:
        inbox = await json_of(await cases.get("/inbox", headers=worker))
        return next((c for c in inbox["cases"] if c["ticket_id"] == pushed["ticket_id"]), None)

    case = await eventually(in_inbox, what="the case in the worker's inbox")
    path = f"/cases/{case['case_id']}"
    await json_of(await cases.post(f"{path}/accept", headers=worker))
    parties = []
    for body in (
        {"role": "applicant", "resident": wang["person_id"]},
        {"role": "respondent", "outside": {"name": "陈七", "phone": "13700001111"}},
    ):
        party = await json_of(await cases.post(f"{path}/parties", json=body, headers=worker), 201)
        parties.append(party["party_id"])
    session = {
        "held_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(), "place": "社区调解室",
        "attendees": parties, "mediators": ["刘调解"], "summary": "双方陈述意见",
        "signed_by": parties,
    }  # fmt: skip
    await json_of(
        await cases.post(f"{path}/mediators", json={"mediator": "刘调解"}, headers=worker)
    )
    await json_of(await cases.post(f"{path}/sessions", json=session, headers=worker), 201)
    today = datetime.now(UTC).date()
    agreement = await json_of(await cases.post(f"{path}/agreement", json={
        "signed_by": parties, "facts": "1301 夜间装修", "dispute": "噪声扰民",
        "responsibilities": "1301 调整施工时间", "terms": "每日 8 时至 18 时施工",
        "performance": "物业监督", "perform_by": str(today + timedelta(days=30)),
        "signed_on": str(today),
    }, headers=worker), 201)  # fmt: skip
    await json_of(await cases.post(f"{path}/resolve", json={
        "resolution": "经调解双方达成协议", "solved": True}, headers=worker))  # fmt: skip

    async def delivered() -> bool:
        admin = trio.hotline.as_("subdistrict_admin", places=["320111001"])
        view = await json_of(
            await trio.hotline.client.get(f"/tickets/{pushed['ticket_id']}", headers=admin)
        )
        return bool(view["delivery_status"] == "delivered")

    await eventually(delivered, what="the reply delivered to the hotline")
    rated = await hotline_says(trio.hotline, "/tickets/follow-ups", {
        "ticket_number": pushed["ticket_number"], "satisfaction": "satisfied", "resolved": True,
    })  # fmt: skip
    assert rated.json()["status"] == "closed", rated.text

    # -- the views: the resident's picture, as the grid's worker reads it ----------------------
    staff = views.as_("grid_worker", places=[tree.grid_code], subject=WORKER)
    resident = f"/residents/{wang['person_id']}"

    async def pictured() -> Any:
        answer = await views.client.get(resident, headers=staff)
        if answer.status_code != 200:
            return None
        body = answer.json()
        rated = [t for t in body["tickets"] if t["satisfaction"] == "satisfied"]
        signed = [c for c in body["cases"] if c["mediation"] and c["mediation"]["agreement"]]
        return body if body["needs"] and rated and signed and body["tags"] else None

    picture = await eventually(pictured, what="the resident's picture with the whole matter")
    assert (picture["name_masked"], picture["erased"]) == ("王**", False)
    assert picture["phone_masked"] == "139****5678"
    assert "王秀英" not in str(picture) and "13912345678" not in str(picture)
    assert picture["personal_data"]["path"].startswith(f"/persons/{wang['person_id']}/")
    assert picture["dwelling"]["grid_code"] == tree.grid_code
    assert picture["grid_worker"]["account"] == WORKER
    assert [t["tag"] for t in picture["tags"]] == ["elderly_living_alone"]
    [mediated] = [c for c in picture["cases"] if c["case_id"] == case["case_id"]]
    deadline = mediated["mediation"]["agreement"]["confirmation_deadline"]
    assert deadline == str(today + timedelta(days=30)) == agreement["confirmation_deadline"]
    assert mediated["mediation"]["sessions_held"] == 1
    another = views.as_("grid_worker", places=[f"{tree.community_code}-002"], subject="w2")
    assert (await views.client.get(resident, headers=another)).status_code == 404

    # -- the grid's dashboard: the hotline's figures are the bridge's own --------------------
    month = datetime.now(CST).strftime("%Y-%m")
    admin = views.as_("subdistrict_admin", places=["320111001"])

    async def counted() -> Any:
        answer = await views.client.get(f"/grids/{tree.grid_code}/dashboard", headers=admin)
        if answer.status_code != 200:
            return None
        current = answer.json()["current"]
        return current if current["hotline"]["satisfaction_rate"] is not None else None

    current = await eventually(counted, what="the rated ticket in the grid's dashboard")
    assert current["month"] == month
    bridge_admin = trio.hotline.as_("subdistrict_admin", places=["320111001"])
    metrics = await json_of(
        await trio.hotline.client.get(f"/rates?month={month}", headers=bridge_admin)
    )
    own = next(a for a in metrics["areas"] if a["area_id"] == tree.grid)
    for figure, value in current["hotline"].items():
        assert own[figure] == value, figure
    assert current["residents"]["living"] == 2
    assert current["special_groups"]["by_tag"] == {"elderly_living_alone": 1}

    # -- the justice office's feed: the agreement and its 司法确认 deadline -----------------
    justice = views.as_("department:justice", places=["320111001"], subject="sifasuo")

    async def fed() -> Any:
        page = await json_of(await views.client.get("/feeds/justice", headers=justice))
        signed = [e for e in page["entries"] if e["fact"] == "mediation_agreement_signed"]
        return signed[0] if signed and signed[0]["grid"] else None

    entry = await eventually(fed, what="the agreement in the justice office's feed")
    assert entry["until"] == deadline and entry["grid"] == tree.grid_code
    assert "王秀英" not in str(entry) and "陈七" not in str(entry)
    health = views.as_("department:health", places=["320111001"])
    assert (await views.client.get("/feeds/justice", headers=health)).status_code == 403
    analyst = views.as_("analyst", places=["320111001"])
    assert (await views.client.get(resident, headers=analyst)).status_code == 403

    # -- the matter's lineage: ticket, case, mediation, reply, rating, in order ---------------
    async def lineage() -> Any:
        answer = await views.client.get(
            "/matters", params={"ticket_id": pushed["ticket_id"]}, headers=staff
        )
        if answer.status_code != 200:
            return None
        body = answer.json()
        kinds = [s["type"].rsplit(".", 1)[-1] for s in body["steps"]]
        return body if "TicketFollowedUp" in kinds and "CaseClosed" in kinds else None

    matter = await eventually(lineage, what="the matter's lineage up to the rating")
    kinds = [s["type"].rsplit(".", 1)[-1] for s in matter["steps"]]
    order = ["TicketReceived", "CaseOpened", "CaseAccepted", "MediationAgreementSigned",
             "CaseResolved", "TicketReplied", "TicketFollowedUp"]  # fmt: skip
    assert [k for k in kinds if k in order] == order
    assert matter["case_ids"] == [case["case_id"]]
    assert {s["correlation_id"] for s in matter["steps"]} == {matter["correlation_id"]}

    # -- erasure: every view shows the resident erased, also rebuilt ---------------------------
    erased = await trio.registry.client.request(
        "DELETE", f"/persons/{wang['person_id']}/personal-data", json=ERASURE, headers=tree.admin
    )
    assert erased.status_code == 200, erased.text

    async def shown_erased() -> Any:
        body = await json_of(await views.client.get(resident, headers=staff))
        return body if body["erased"] else None

    gone = await eventually(shown_erased, what="the erasure in the resident's picture")
    assert gone["name_masked"] == gone["phone_masked"] == "[已删除]"
    civil = views.as_("department:civil_affairs", places=["320111001"])

    async def feed_erased() -> Any:
        # the feeds view is a runner of its own: it may apply the erasure after the residents'
        page = await json_of(await views.client.get("/feeds/civil_affairs", headers=civil))
        mine = [e for e in page["entries"] if e["person"] == wang["person_id"]]
        return mine if mine and all(e["name"] == "[已删除]" for e in mine) else None

    mine = await eventually(feed_erased, what="the erasure in the civil affairs feed")
    assert {e["name"] for e in mine} == {"[已删除]"}
    async with views_rebuilt(trio) as rebuilt:

        async def rebuilt_picture() -> Any:
            answer = await rebuilt.client.get(resident, headers=staff)
            body = answer.json() if answer.status_code == 200 else None
            return body if body and body["tickets"] and body["cases"] else None

        again = await eventually(rebuilt_picture, what="the rebuilt resident's picture")
    assert (again["erased"], again["name_masked"]) == (True, "[已删除]")
