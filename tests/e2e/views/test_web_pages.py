"""The web dashboard's pages over HTTP, without a browser: who gets in and how (a bearer token
in the header, or the session cookie the sign-in form sets; never a token in the URL), and a
live page's ETag (a 304 until an event is applied)."""

from __future__ import annotations

from wangge.service.devissuer import DEV_ISSUER
from wangge.views.config import ViewsSettings
from wangge.views.web.session import COOKIE, dev_sign_in

from quintet_support import Quintet
from trio_support import eventually

SUBDISTRICT = "320111001"


async def test_a_page_takes_a_bearer_token_or_the_cookie_never_one_in_the_url(
    quintet: Quintet,
) -> None:
    client = quintet.views.client
    admin = quintet.staff()
    token = admin["Authorization"].removeprefix("Bearer ")
    page = f"/overview/{SUBDISTRICT}"

    anonymous = await client.get(page)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/signin?back_to=/overview/{SUBDISTRICT}"
    in_url = await client.get(page, params={"access_token": token, "token": token})
    assert in_url.status_code == 303  # sent to sign in, as without one

    async def shown() -> bool:  # the views catch up with the registry's places first
        answer = await client.get(page, headers=admin)
        return answer.status_code == 200

    await eventually(shown, what="the overview")
    answer = await client.get(page, headers=admin)
    assert answer.headers["content-type"].startswith("text/html")
    assert "沿江街道" in answer.text

    signed = await client.post(
        "/signin/dev", data={"role": "subdistrict_admin", "place": SUBDISTRICT, "name": "admin",
                             "back_to": page},
    )  # fmt: skip
    assert signed.status_code == 303 and signed.headers["location"] == page
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    session = {"Cookie": f"{COOKIE}={signed.cookies[COOKIE]}"}
    assert (await client.get(page, headers=session)).status_code == 200
    away = await client.post("/signin/dev", data={"role": "admin", "place": SUBDISTRICT})
    assert away.headers["location"] == "/signin?error=role"
    offsite = await client.post("/signin/dev", data={
        "role": "grid_worker", "place": SUBDISTRICT, "back_to": "//evil.example/x"})  # fmt: skip
    assert offsite.headers["location"] == "/"


async def test_a_live_page_is_304_until_something_changes(quintet: Quintet) -> None:
    client, admin = quintet.views.client, quintet.staff()
    page = f"/grid/{quintet.trio.tree.grid_code}"

    held: dict[str, str] = {}

    async def settled() -> bool:
        """A read naming the page held is a 304, empty, once the views stand still."""
        answer = await client.get(page, headers={**admin, "If-None-Match": held.get("etag", "")})
        if answer.status_code == 200:
            held["etag"] = answer.headers["etag"]
            return False
        return answer.status_code == 304 and answer.text == ""

    await eventually(settled, what="the grid page standing still")
    etag = held["etag"]
    renamed = await quintet.trio.registry.client.patch(
        f"/places/{quintet.trio.tree.grid}", json={"name": "第1网格（东）"},
        headers=quintet.trio.tree.admin,
    )  # fmt: skip
    assert renamed.status_code == 200, renamed.text

    async def changed() -> bool:
        answer = await client.get(page, headers={**admin, "If-None-Match": etag})
        return answer.status_code == 200 and "第1网格（东）" in answer.text

    await eventually(changed, what="the renamed grid on its page")


def test_only_development_mints_tokens() -> None:
    dev = ViewsSettings.model_construct(environment="dev", auth_issuer=DEV_ISSUER)
    production = ViewsSettings.model_construct(environment="production", auth_issuer=DEV_ISSUER)
    elsewhere = ViewsSettings.model_construct(environment="test", auth_issuer="https://idp.example")
    assert dev_sign_in(dev)
    assert not dev_sign_in(production)
    assert not dev_sign_in(elsewhere)
