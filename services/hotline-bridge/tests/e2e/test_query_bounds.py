"""Extreme query parameters (a fuzzer's favourites) are refused naming the parameter, never a
500 from date arithmetic or an overflow in the database."""

from __future__ import annotations

from hotline_support import Hotline


async def test_a_month_outside_this_century_is_a_422_naming_the_month(hotline: Hotline) -> None:
    staff = hotline.as_("subdistrict_admin", places=["320111001"])
    for month in ("0000-01", "9999-12", "1999-12", "2100-01"):
        response = await hotline.client.get("/rates", params={"month": month}, headers=staff)
        assert response.status_code == 422, (month, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["query/month"]
    for month in ("2000-01", "2099-12"):
        response = await hotline.client.get("/rates", params={"month": month}, headers=staff)
        assert response.status_code == 200, (month, response.text)


async def test_a_categories_flag_that_is_not_a_boolean_is_a_422_naming_it(
    hotline: Hotline,
) -> None:
    staff = hotline.as_("subdistrict_admin", places=["320111001"])
    params = {"month": "2026-11", "categories": "maybe"}
    response = await hotline.client.get("/rates", params=params, headers=staff)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["query/categories"]
    params["categories"] = "true"
    response = await hotline.client.get("/rates", params=params, headers=staff)
    assert response.status_code == 200, response.text
    assert response.json()["residents_on"] == "2026-11-30"


async def test_open311_refuses_odd_pages_and_times_in_the_specifications_format(
    hotline: Hotline,
) -> None:
    cases = [
        ({"page": "²"}, "page"),
        ({"page": "9" * 5000}, "page"),
        ({"page_size": "99999999999999999999"}, "page_size"),
        ({"end_date": "0001-01-01T00:00:00Z"}, "end_date"),
        ({"start_date": "0001-01-01T00:00:00+14:00"}, "start_date"),
        ({"end_date": "9999-12-31T23:59:59-14:00"}, "end_date"),
    ]
    for params, name in cases:
        response = await hotline.client.get("/open311/v2/requests.json", params=params)
        assert response.status_code == 400, (params, response.text)
        [error] = response.json()
        assert error["code"] == 400 and error["description"].startswith(f"{name}:")
    last = await hotline.client.get(
        "/open311/v2/requests.json", params={"page": "10000", "page_size": "1000"}
    )
    assert last.status_code == 200, last.text
    assert last.json() == []
