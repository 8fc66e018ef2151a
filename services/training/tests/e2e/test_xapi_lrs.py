"""The service as an xAPI 1.0.3 Learning Record Store, through HTTP: clients authenticate with
the HTTP Basic credentials an admin issues them, send statements by POST and PUT, read them back
with ``more`` links, void them; the version header is required, and bad input is a 400."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx

from wangge.service.testing import Running
from wangge.training.config import TrainingSettings

Training = Running[TrainingSettings]
XAPI = {"X-Experience-API-Version": "1.0.3"}
ADL = "http://adlnet.gov/expapi/verbs/"
COURSE = "https://learn.example.org/courses/mediation"


def _statement(**more: Any) -> dict[str, Any]:
    return {
        "actor": {"objectType": "Agent", "name": "王芳", "mbox": "mailto:wangfang@example.org"},
        "verb": {"id": ADL + "completed", "display": {"zh-CN": "完成"}},
        "object": {"objectType": "Activity", "id": COURSE},
        **more,
    }


async def _client(training: Training, role: str) -> dict[str, str]:
    """Headers of a client with new credentials of ``role``, issued by an admin."""
    admin = training.as_("subdistrict_admin", places=["320111001"])
    response = await training.client.post(
        "/xapi-clients", json={"name": "街道学习平台", "role": role}, headers=admin
    )
    assert response.status_code == 201, response.text
    issued = response.json()
    return _basic(issued["key"], issued["secret"])


def _basic(key: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{key}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}", **XAPI}


def _problem(response: httpx.Response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.text, response.text
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


async def test_about_is_open_and_names_the_version(training: Training) -> None:
    response = await training.client.get("/xapi/about")
    assert response.status_code == 200
    assert response.json()["version"] == ["1.0.3"]
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


async def test_a_provider_posts_and_puts_statements_and_reads_them_back(
    training: Training,
) -> None:
    provider = await _client(training, "provider")
    client = training.client
    posted = await client.post("/xapi/statements", json=_statement(), headers=provider)
    assert posted.status_code == 200, posted.text
    [first] = posted.json()
    many = await client.post(
        "/xapi/statements", json=[_statement(), _statement()], headers=provider
    )
    assert len(many.json()) == 2
    chosen = str(uuid.uuid4())
    put = await client.put(
        "/xapi/statements", params={"statementId": chosen}, json=_statement(), headers=provider
    )
    assert put.status_code == 204, put.text
    assert put.headers["X-Experience-API-Version"] == "1.0.3"
    again = await client.put(
        "/xapi/statements", params={"statementId": chosen}, json=_statement(), headers=provider
    )
    assert again.status_code == 204
    other = _statement(result={"success": False})
    conflict = await client.put(
        "/xapi/statements", params={"statementId": chosen}, json=other, headers=provider
    )
    assert conflict.status_code == 409, conflict.text
    one = await client.get("/xapi/statements", params={"statementId": first}, headers=provider)
    assert one.status_code == 200, one.text
    served = one.json()
    assert served["actor"]["mbox"] == "mailto:wangfang@example.org"
    assert served["authority"]["account"]["name"] == provider_key(provider)
    assert served["stored"] and one.headers["X-Experience-API-Consistent-Through"]
    # a list, in pages: the more link continues it, and ends
    page = await client.get("/xapi/statements", params={"limit": 2}, headers=provider)
    body = page.json()
    assert len(body["statements"]) == 2 and body["more"].startswith("/xapi/statements?")
    seen = [s["id"] for s in body["statements"]]
    while body["more"]:
        body = (await client.get(body["more"], headers=provider)).json()
        seen += [s["id"] for s in body["statements"]]
    assert sorted(seen) == sorted([first, *many.json(), chosen])
    agent = '{"mbox": "mailto:wangfang@example.org"}'
    mine = await client.get("/xapi/statements", params={"agent": agent}, headers=provider)
    assert len(mine.json()["statements"]) == 4


def provider_key(headers: dict[str, str]) -> str:
    return base64.b64decode(headers["Authorization"].split()[1]).decode().split(":")[0]


async def test_a_voided_statement_leaves_the_lists_and_is_fetched_as_voided(
    training: Training,
) -> None:
    provider = await _client(training, "provider")
    client = training.client
    [target] = (await client.post("/xapi/statements", json=_statement(), headers=provider)).json()
    voiding = {**_statement(), "verb": {"id": ADL + "voided"},
               "object": {"objectType": "StatementRef", "id": target}}  # fmt: skip
    [voider] = (await client.post("/xapi/statements", json=voiding, headers=provider)).json()
    listed = (await client.get("/xapi/statements", headers=provider)).json()["statements"]
    assert [s["id"] for s in listed] == [voider]
    gone = await client.get("/xapi/statements", params={"statementId": target}, headers=provider)
    assert gone.status_code == 404
    voided = await client.get(
        "/xapi/statements", params={"voidedStatementId": target}, headers=provider
    )
    assert voided.json()["id"] == target
    again = {**voiding, "object": {"objectType": "StatementRef", "id": voider}}
    refused = await client.post("/xapi/statements", json=again, headers=provider)
    _problem(refused, 400, "body/object/id")


async def test_credentials_decide_who_reads_and_who_writes(training: Training) -> None:
    client = training.client
    provider = await _client(training, "provider")
    reader = await _client(training, "reader")
    assert (await client.get("/xapi/statements", headers=reader)).status_code == 200
    assert (
        await client.post("/xapi/statements", json=_statement(), headers=reader)
    ).status_code == 403
    wrong = _basic(provider_key(provider), "not-the-secret")
    refused = await client.post("/xapi/statements", json=_statement(), headers=wrong)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    nobody = await client.get("/xapi/statements", headers=XAPI)
    assert nobody.status_code == 401 and "Basic" in nobody.headers["WWW-Authenticate"]
    # bearer tokens still work: a trainer writes, an analyst only reads
    trainer = {**training.as_("trainer", places=["320111001"]), **XAPI}
    analyst = {**training.as_("analyst", places=["320111001"]), **XAPI}
    assert (
        await client.post("/xapi/statements", json=_statement(), headers=trainer)
    ).status_code == 200
    assert (
        await client.post("/xapi/statements", json=_statement(), headers=analyst)
    ).status_code == 403
    # a revoked client is refused (its check is remembered only for a while: a new one here)
    key = provider_key(reader)
    admin = training.as_("subdistrict_admin", places=["320111001"])
    assert (await client.delete(f"/xapi-clients/{key}", headers=admin)).status_code == 204
    worker = training.as_("trainer", places=["320111001"])
    assert (await client.post("/xapi-clients", json={"name": "x", "role": "reader"},
                              headers=worker)).status_code == 403  # fmt: skip


async def test_a_revoked_clients_credentials_are_refused(training: Training) -> None:
    admin = training.as_("subdistrict_admin", places=["320111001"])
    issued = (
        await training.client.post(
            "/xapi-clients", json={"name": "旧平台", "role": "provider"}, headers=admin
        )
    ).json()
    await training.client.delete(f"/xapi-clients/{issued['key']}", headers=admin)
    refused = await training.client.get(
        "/xapi/statements", headers=_basic(issued["key"], issued["secret"])
    )
    assert refused.status_code == 401


async def test_the_version_header_is_required_and_bad_input_is_a_400_naming_it(
    training: Training,
) -> None:
    client = training.client
    provider = await _client(training, "provider")
    bare = {"Authorization": provider["Authorization"]}
    _problem(await client.get("/xapi/statements", headers=bare), 400, "X-Experience-API-Version")
    old = {**bare, "X-Experience-API-Version": "0.95"}
    _problem(await client.get("/xapi/statements", headers=old), 400, "X-Experience-API-Version")
    asks: list[tuple[str, dict[str, Any], Any, str]] = [
        ("GET", {"limit": "many"}, None, "query/limit"),
        ("GET", {"statementId": "s-1"}, None, "query/statementId"),
        ("GET", {"agent": '{"name": "王芳"}'}, None, "query/agent"),
        ("GET", {"colour": "red"}, None, "query/colour"),
        ("POST", {}, {**_statement(), "id": "s-1"}, "body/id"),
        ("POST", {}, [_statement(), {**_statement(), "verb": {}}], "body/1/verb/id"),
        ("POST", {}, {**_statement(), "actor": {"name": "王芳"}}, "body/actor"),
        ("POST", {}, {**_statement(), "timestamp": "yesterday"}, "body/timestamp"),
        ("POST", {}, {**_statement(), "extra": 1}, "body/extra"),
        ("POST", {}, {**_statement(), "version": "2.0.0"}, "body/version"),
        ("PUT", {}, _statement(), "query/statementId"),
        ("PUT", {"statementId": str(uuid.uuid4())}, {**_statement(), "id": str(uuid.uuid4())},
         "body/id"),
    ]  # fmt: skip
    for method, params, body, field in asks:
        response = await client.request(
            method, "/xapi/statements", params=params, json=body, headers=provider
        )
        _problem(response, 400, field)
    broken = await client.post(
        "/xapi/statements",
        content=b"{not json",
        headers={**provider, "Content-Type": "application/json"},
    )
    _problem(broken, 400, "body")


async def test_an_admin_erases_an_outside_actors_statements(training: Training) -> None:
    provider = await _client(training, "provider")
    client = training.client
    [sent] = (await client.post("/xapi/statements", json=_statement(), headers=provider)).json()
    admin = training.as_("subdistrict_admin", places=["320111001"])
    body = {"agent": {"mbox": "mailto:wangfang@example.org"}, "legal_ground": "consent_withdrawn"}
    erased = await client.post("/xapi-actors/erasure", json=body, headers=admin)
    assert erased.status_code == 200, erased.text
    served = await client.get("/xapi/statements", params={"statementId": sent}, headers=provider)
    assert "wangfang" not in served.text and served.json()["verb"]["id"] == ADL + "completed"
    refused = await client.post("/xapi/statements", json=_statement(), headers=provider)
    assert refused.status_code == 410, refused.text
    bad = {"agent": {"name": "王芳"}, "legal_ground": "consent_withdrawn"}
    wrong = await client.post("/xapi-actors/erasure", json=bad, headers=admin)
    assert wrong.status_code == 400 and "body/agent" in wrong.text
