"""Open311 GeoReport v2: what an off-the-shelf client sends and parses, in JSON and XML."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

import httpx

from hotline_support import Hotline, push, ticket

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _key(hotline: Hotline) -> str:
    return next(iter(hotline.settings.open311_clients()))


async def _post(hotline: Hotline, fmt: str = "json", **fields: Any) -> httpx.Response:
    data = {"api_key": _key(hotline), "service_code": "0302", "lat": "32.0412",
            "long": "118.7301", "description": "小区门口垃圾堆放三天无人清运",
            "first_name": "小明", "last_name": "王", "phone": "13812345678", **fields}  # fmt: skip
    data = {k: v for k, v in data.items() if v is not None}
    return await hotline.client.post(f"/open311/v2/requests.{fmt}", data=data, headers=FORM)


async def test_the_service_list_is_the_dispatch_catalogue(hotline: Hotline) -> None:
    services = (await hotline.client.get("/open311/v2/services.json")).json()
    codes = {s["service_code"]: s for s in services}
    assert codes["0301"]["service_name"] == "噪声扰民"
    assert codes["0301"]["type"] == "realtime" and codes["0301"]["metadata"] is False
    xml = await hotline.client.get("/open311/v2/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(xml.text)
    assert root.tag == "services"
    assert {s.findtext("service_code") for s in root.iter("service")} == set(codes)
    definition = await hotline.client.get("/open311/v2/services/0301.json")
    assert definition.json() == {"service_code": "0301", "attributes": []}


async def test_a_posted_request_is_a_ticket_that_the_requests_list_shows(
    hotline: Hotline,
) -> None:
    posted = await _post(hotline)
    assert posted.status_code == 200, posted.text
    [created] = posted.json()
    request_id = created["service_request_id"]
    [one] = (await hotline.client.get(f"/open311/v2/requests/{request_id}.json")).json()
    assert one["status"] == "open"
    assert (one["service_code"], one["lat"], one["long"]) == ("0302", 32.0412, 118.7301)
    assert one["description"] == "小区门口垃圾堆放三天无人清运"
    assert "13812345678" not in str(one) and "王小明" not in str(one)
    listed = await hotline.client.get(
        "/open311/v2/requests.json", params={"service_code": "0302,0301", "status": "open"}
    )
    assert [r["service_request_id"] for r in listed.json()] == [request_id]
    closed = await hotline.client.get("/open311/v2/requests.json", params={"status": "closed"})
    assert closed.json() == []
    xml = await hotline.client.get("/open311/v2/requests.xml", params={
        "service_request_id": request_id})  # fmt: skip
    root = ElementTree.fromstring(xml.text)
    assert [r.findtext("service_request_id") for r in root.iter("request")] == [request_id]
    token = await hotline.client.get(f"/open311/v2/tokens/{request_id}.json")
    assert token.json() == [{"service_request_id": request_id, "token": request_id}]
    # the hotline's own ticket exists too, and stays behind its signed door
    pushed = await push(hotline, ticket())
    assert pushed.status_code == 201
    everything = (await hotline.client.get("/open311/v2/requests.json")).json()
    assert [r["service_request_id"] for r in everything] == [request_id]


async def test_requests_page_and_window(hotline: Hotline) -> None:
    ids = [(await _post(hotline)).json()[0]["service_request_id"] for _ in range(3)]
    first = await hotline.client.get("/open311/v2/requests.json", params={"page_size": 2})
    second = await hotline.client.get(
        "/open311/v2/requests.json", params={"page_size": 2, "page": 2}
    )
    seen = [r["service_request_id"] for r in first.json() + second.json()]
    assert sorted(seen) == sorted(ids) and len(first.json()) == 2
    old = await hotline.client.get(
        "/open311/v2/requests.json",
        params={"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-02-01T00:00:00Z"},
    )
    assert old.json() == []


async def test_errors_come_in_the_specifications_format(hotline: Hotline) -> None:
    cases = [
        (await _post(hotline, api_key="wrong"), 403, "api_key"),
        (await _post(hotline, service_code="9999"), 400, "service_code"),
        (await _post(hotline, lat=None, long=None), 400, "address_string"),
        (await _post(hotline, lat="north"), 400, "lat"),
        (await _post(hotline, phone="12345"), 400, "caller.phone"),
        (await hotline.client.get("/open311/v2/requests/nope.json"), 404, "nope"),
        (await hotline.client.get("/open311/v2/requests.json", params={"status": "x"}), 400,
         "status"),
    ]  # fmt: skip
    for response, status, words in cases:
        assert response.status_code == status, response.text
        [error] = response.json()
        assert error["code"] == status and words in error["description"]
    xml = await _post(hotline, "xml", api_key="wrong")
    root = ElementTree.fromstring(xml.text)
    assert (root.tag, root.findtext("error/code")) == ("errors", "403")
    assert (await hotline.client.get("/open311/v2/services.csv")).status_code == 404


async def test_a_form_that_is_not_utf8_is_refused_and_nothing_is_stored(hotline: Hotline) -> None:
    key = _key(hotline)
    fields = f"api_key={key}&service_code=0302&lat=32.0412&long=118.7301&description="
    for body in (
        fields.encode() + "垃圾".encode("gbk"),  # raw bytes of another encoding
        fields.encode() + b"%C0%AF%FF",  # escaped bytes that are no UTF-8
    ):
        refused = await hotline.client.post("/open311/v2/requests.json", content=body, headers=FORM)
        assert refused.status_code == 400, refused.text
        [error] = refused.json()
        assert "UTF-8" in error["description"]
    assert (await hotline.client.get("/open311/v2/requests.json")).json() == []
