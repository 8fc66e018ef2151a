"""Persons through the API: validation, uniqueness, masking, audited reads, erasure, merges."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from wangge.governance.times import today

from registry_support import (
    Registry,
    build_tree,
    identity_number,
    register_person,
    second_grid,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


async def test_a_registration_derives_birth_and_sex_and_shows_only_masked_values(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    number = identity_number(birth="19491231", sex="female")
    person = await register_person(registry, tree, name="李秀英", identity_number=number)
    assert person["birth_year"] == 1949
    assert person["sex"] == "female"
    assert person["name_masked"] == "李**"
    assert person["identity_masked"] == number[:6] + "********" + number[-4:]
    assert person["phone_masked"] == "138****5678"
    assert person["scope"] == tree.grid_code
    assert "李秀英" not in str(person) and number not in str(person)


async def test_one_identity_number_is_one_person_whatever_its_form(registry: Registry) -> None:
    tree = await build_tree(registry)
    old = "320111800101001"  # 15 digits: upgraded to 18 before the check
    first = await register_person(registry, tree, identity_number=old)
    upgraded = "32011119800101001"
    from stdnum.cn import ric

    upgraded += ric.calc_check_digit(upgraded + "0")
    again = await registry.client.post(
        "/persons",
        json={"name": "张三", "identity_number": upgraded, "hukou_type": "local",
              "residence_status": "resident", "dwelling_id": tree.dwelling},
        headers=tree.admin,
    )  # fmt: skip
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "identity_number"
    assert first["person_id"] in again.json()["detail"]


async def test_bad_personal_data_is_refused_naming_the_field(registry: Registry) -> None:
    tree = await build_tree(registry)
    good = identity_number()
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    for field, value in [
        ("identity_number", bad_check),
        ("identity_number", "32011119801301001X"),
        ("phone", "12345"),
    ]:
        body = {"name": "王五", "identity_number": good, "phone": "13812345678",
                "hukou_type": "local", "residence_status": "resident",
                "dwelling_id": tree.dwelling, field: value}  # fmt: skip
        response = await registry.client.post("/persons", json=body, headers=tree.admin)
        assert response.status_code == 422, (field, value, response.text)
        assert response.json()["errors"][0]["field"] == field


async def test_unmasked_data_are_audited_and_rate_limited(registry: Registry) -> None:
    tree = await build_tree(registry)
    number = identity_number()
    person = await register_person(registry, tree, name="赵六", identity_number=number,
                                   moved_in_from="安徽省合肥市")  # fmt: skip
    worker = registry.as_("grid_worker", places=[tree.grid_code], subject="worker-7")
    path = f"/persons/{person['person_id']}/personal-data"
    missing_purpose = await registry.client.get(path, headers=worker)
    assert missing_purpose.status_code == 422
    opened = await registry.client.get(path, params={"purpose": "入户核查"}, headers=worker)
    assert opened.status_code == 200, opened.text
    assert opened.json()["name"] == "赵六"
    assert opened.json()["identity_number"] == number
    assert opened.json()["phone"] == "+8613812345678"
    assert opened.json()["origin"] == "安徽省合肥市"
    audit = await registry.store.read_stream(f"disclosure-{person['person_id']}")
    assert [(e.envelope.actor, e.data.purpose) for e in audit] == [("worker-7", "入户核查")]  # type: ignore[attr-defined]
    statuses = []
    for _ in range(registry.settings.disclosures_per_minute):
        r = await registry.client.get(path, params={"purpose": "核查"}, headers=worker)
        statuses.append(r.status_code)
    assert statuses[-1] == 429
    # the first read of the minute leaves the window in a minute at most
    assert 50 <= int(r.headers["Retry-After"]) <= 60
    assert statuses.count(200) == registry.settings.disclosures_per_minute - 1


async def test_departments_see_masked_data_only(registry: Registry) -> None:
    tree = await build_tree(registry)
    person = await register_person(registry, tree)
    health = registry.as_("department:health", places=["320111001"])
    read = await registry.client.get(f"/persons/{person['person_id']}", headers=health)
    assert read.status_code == 200
    assert read.json()["name_masked"] == "张*"
    unmasked = await registry.client.get(
        f"/persons/{person['person_id']}/personal-data", params={"purpose": "x" * 3},
        headers=health,
    )  # fmt: skip
    assert unmasked.status_code == 403
    by_name = await registry.client.get("/persons", params={"name": "张"}, headers=health)
    assert by_name.status_code == 403
    hotline = registry.as_("hotline_system", places=["320111001"])
    assert (
        await registry.client.get(f"/persons/{person['person_id']}", headers=hotline)
    ).status_code == 403


async def test_staff_find_people_by_name_tag_and_identity_number_in_their_places(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    number = identity_number(birth="19400505")
    person = await register_person(registry, tree, name="孙大爷", identity_number=number)
    await register_person(registry, tree, name="周小妹")
    pid = person["person_id"]
    tagged = await registry.client.post(
        f"/persons/{pid}/tags",
        json={"tag": "elderly_living_alone", "source": "走访", "valid_from": "2026-01-01"},
        headers=tree.admin,
    )
    assert tagged.status_code == 200, tagged.text
    assert [t["tag"] for t in tagged.json()["tags"]] == ["elderly_living_alone"]
    worker = registry.as_("grid_worker", places=[tree.grid_code])
    by_name = await registry.client.get("/persons", params={"name": "大爷"}, headers=worker)
    assert [p["person_id"] for p in by_name.json()["items"]] == [pid]
    by_tag = await registry.client.get(
        "/persons", params={"tag": "elderly_living_alone"}, headers=worker
    )
    assert [p["person_id"] for p in by_tag.json()["items"]] == [pid]
    found = await registry.client.post(
        "/persons/lookup", json={"identity_number": number}, headers=worker
    )
    assert found.json()["person_id"] == pid
    elsewhere = registry.as_("grid_worker", places=[f"{tree.community_code}-002"])
    assert (await registry.client.post(
        "/persons/lookup", json={"identity_number": number}, headers=elsewhere
    )).status_code == 404  # fmt: skip
    assert (
        await registry.client.get("/persons", params={"name": "大爷"}, headers=elsewhere)
    ).json()["total"] == 0
    ended = await registry.client.post(
        f"/persons/{pid}/tags/elderly_living_alone/end",
        json={"on": "2026-06-01", "reason": "子女接回同住"}, headers=worker,
    )  # fmt: skip
    assert ended.json()["tags"] == []


async def test_erasure_shreds_the_key_and_keeps_every_other_fact(registry: Registry) -> None:
    tree = await build_tree(registry)
    number = identity_number()
    person = await register_person(registry, tree, name="钱七", identity_number=number,
                                   phone="13987654321")  # fmt: skip
    pid = person["person_id"]
    await registry.client.post(
        f"/persons/{pid}/tags",
        json={"tag": "veteran", "source": "退役军人事务局", "valid_from": "2020-01-01"},
        headers=tree.admin,
    )
    community = registry.as_("community_staff", places=[tree.community_code])
    refused = await registry.client.request(
        "DELETE", f"/persons/{pid}/personal-data", json={"legal_ground": "consent_withdrawn"},
        headers=community,
    )  # fmt: skip
    assert refused.status_code == 403
    erased = await registry.client.request(
        "DELETE", f"/persons/{pid}/personal-data", json={"legal_ground": "consent_withdrawn"},
        headers=tree.admin,
    )  # fmt: skip
    assert erased.status_code == 200, erased.text
    assert erased.json()["erased"] is True
    assert [t["tag"] for t in erased.json()["tags"]] == ["veteran"]
    gone = await registry.client.get(
        f"/persons/{pid}/personal-data", params={"purpose": "核查"}, headers=tree.admin
    )
    assert gone.status_code == 410
    async with registry.store.engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT CAST(data AS TEXT) FROM events"))
        text = "\n".join(r[0] for r in rows)
    for secret in ("钱七", number, "13987654321"):
        assert secret not in text
    # the same number can be registered again: the index forgot it with the key
    again = await register_person(registry, tree, identity_number=number)
    assert again["person_id"] != pid


async def test_a_merge_points_the_duplicate_to_the_kept_record_and_can_be_undone(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    kept = await register_person(registry, tree)
    duplicate = await register_person(registry, tree)
    community = registry.as_("community_staff", places=[tree.community_code])
    merged = await registry.client.post(
        f"/persons/{duplicate['person_id']}/merge",
        json={"into_person_id": kept["person_id"]}, headers=community,
    )  # fmt: skip
    assert merged.json()["merged_into"] == kept["person_id"]
    blocked = await registry.client.post(
        f"/persons/{duplicate['person_id']}/tags",
        json={"tag": "veteran", "source": "x", "valid_from": "2020-01-01"}, headers=community,
    )  # fmt: skip
    assert blocked.status_code == 422
    worker = registry.as_("grid_worker", places=[tree.grid_code])
    assert (await registry.client.post(
        f"/persons/{duplicate['person_id']}/unmerge", headers=worker
    )).status_code == 403  # fmt: skip
    undone = await registry.client.post(
        f"/persons/{duplicate['person_id']}/unmerge", headers=community
    )
    assert undone.json()["merged_into"] is None


async def test_a_retried_registration_returns_the_first_person(registry: Registry) -> None:
    tree = await build_tree(registry)
    body = {"name": "冯九", "identity_number": identity_number(), "hukou_type": "local",
            "residence_status": "resident", "dwelling_id": tree.dwelling}  # fmt: skip
    worker = registry.as_("grid_worker", places=[tree.grid_code], subject="worker-feng")
    headers = {**worker, "Idempotency-Key": "visit-7-person-1"}
    first = await registry.client.post("/persons", json=body, headers=headers)
    again = await registry.client.post("/persons", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["person_id"] == first.json()["person_id"]
    # the same key from another caller is another command
    other = registry.as_("grid_worker", places=[tree.grid_code], subject="worker-li")
    duplicate = await registry.client.post(
        "/persons", json=body, headers={**other, "Idempotency-Key": "visit-7-person-1"}
    )
    assert duplicate.status_code == 409  # one identity number, one person


async def test_departments_do_not_learn_of_health_or_justice_tags(registry: Registry) -> None:
    tree = await build_tree(registry)
    person = await register_person(registry, tree)
    pid = person["person_id"]
    for tag in ("severe_mental_disorder", "disabled"):
        tagged = await registry.client.post(
            f"/persons/{pid}/tags",
            json={"tag": tag, "source": "卫健/残联", "valid_from": "2024-01-01"},
            headers=tree.admin,
        )
        assert tagged.status_code == 200, tagged.text
    assert [t["tag"] for t in tagged.json()["tags"]] == ["disabled", "severe_mental_disorder"]
    civil = registry.as_("department:civil_affairs", places=["320111001"])
    seen = await registry.client.get(f"/persons/{pid}", headers=civil)
    assert [t["tag"] for t in seen.json()["tags"]] == ["disabled"]
    probe = await registry.client.get(
        "/persons", params={"tag": "severe_mental_disorder"}, headers=civil
    )
    assert probe.status_code == 403
    assert probe.json()["errors"][0]["field"] == "query/tag"


async def test_a_tag_ended_and_given_again_from_the_same_day_is_a_new_period(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    pid = (await register_person(registry, tree))["person_id"]
    tag = {"tag": "veteran", "source": "退役军人事务局", "valid_from": "2020-01-01"}
    first = await registry.client.post(f"/persons/{pid}/tags", json=tag, headers=tree.admin)
    assert first.status_code == 200, first.text
    again = await registry.client.post(f"/persons/{pid}/tags", json=tag, headers=tree.admin)
    assert again.status_code == 200, again.text  # still current: the same tag, nothing new
    assert [t["tag"] for t in again.json()["tags"]] == ["veteran"]
    ended = await registry.client.post(
        f"/persons/{pid}/tags/veteran/end", json={"on": "2024-06-01", "reason": "录入有误"},
        headers=tree.admin,
    )  # fmt: skip
    assert ended.json()["tags"] == []
    retagged = await registry.client.post(f"/persons/{pid}/tags", json=tag, headers=tree.admin)
    assert retagged.status_code == 200, retagged.text
    assert [(t["tag"], t["valid_from"]) for t in retagged.json()["tags"]] == [
        ("veteran", "2020-01-01")
    ]
    by_tag = await registry.client.get("/persons", params={"tag": "veteran"}, headers=tree.admin)
    assert [p["person_id"] for p in by_tag.json()["items"]] == [pid]


async def test_a_lookup_outside_the_callers_places_answers_as_if_nobody_had_the_number(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    number = identity_number(birth="19660606")
    person = await register_person(registry, tree, identity_number=number)
    elsewhere = registry.as_("grid_worker", places=[f"{tree.community_code}-002"])
    registered = await registry.client.post(
        "/persons/lookup", json={"identity_number": number}, headers=elsewhere
    )
    unknown = await registry.client.post(
        "/persons/lookup", json={"identity_number": identity_number(birth="19660606")},
        headers=elsewhere,
    )  # fmt: skip
    assert registered.status_code == unknown.status_code == 404
    assert registered.content == unknown.content
    assert registered.headers == unknown.headers
    assert person["person_id"] not in registered.text
    assert registered.json()["errors"] == [
        {"field": "identity_number", "message": "no person with this identity number"}
    ]
    inside = registry.as_("grid_worker", places=[tree.grid_code])
    found = await registry.client.post(
        "/persons/lookup", json={"identity_number": number}, headers=inside
    )
    assert found.status_code == 200, found.text
    assert found.json()["person_id"] == person["person_id"]
    assert found.headers["ETag"]


def _newcomer(number: str, dwelling: str) -> dict[str, Any]:
    return {"name": "韩梅", "identity_number": number, "hukou_type": "non_local",
            "residence_status": "floating", "dwelling_id": dwelling}  # fmt: skip


async def test_a_number_held_outside_the_callers_grids_is_refused_naming_no_one(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    held, also_held = identity_number(birth="19770707"), identity_number(birth="19770707")
    holder = await register_person(registry, tree, identity_number=held)
    gone = await register_person(registry, tree, identity_number=also_held)
    moved = await registry.client.post(
        f"/persons/{gone['person_id']}/move-out", json={"on": "2025-01-01"}, headers=tree.admin
    )
    assert moved.status_code == 200, moved.text
    grid_code, dwelling = await second_grid(registry, tree)
    worker = registry.as_("grid_worker", places=[grid_code])
    refused = await registry.client.post("/persons", json=_newcomer(held, dwelling), headers=worker)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["type"] == "urn:wangge:problem:duplicate-person"
    assert "community or subdistrict staff" in problem["detail"]
    assert problem["errors"] == [{"field": "identity_number", "message": problem["detail"]}]
    # no id of anyone, no place of anyone: and the same whoever holds the number, whatever they
    # are now (the other holder moved out)
    assert UUID.findall(refused.text) == []
    for told in (tree.grid_code, tree.community_code, "滨江", "12栋", "1201", "moved"):
        assert told not in refused.text
    other = await registry.client.post(
        "/persons", json=_newcomer(also_held, dwelling), headers=worker
    )
    assert (other.status_code, other.content) == (refused.status_code, refused.content)
    assert other.headers == refused.headers
    for covering in (
        registry.as_("grid_worker", places=[tree.grid_code]),
        registry.as_("community_staff", places=[tree.community_code]),
        tree.admin,
    ):
        named = await registry.client.post(
            "/persons", json=_newcomer(held, tree.dwelling), headers=covering
        )
        assert named.status_code == 409, named.text
        assert holder["person_id"] in named.json()["detail"]


async def test_a_correction_to_a_number_held_outside_the_callers_grids_names_no_one(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    held = identity_number(birth="19880808")
    holder = await register_person(registry, tree, identity_number=held)
    grid_code, dwelling = await second_grid(registry, tree)
    worker = registry.as_("grid_worker", places=[grid_code])
    mine = await registry.client.post(
        "/persons", json=_newcomer(identity_number(birth="19880808"), dwelling), headers=worker
    )
    assert mine.status_code == 201, mine.text
    path = f"/persons/{mine.json()['person_id']}/details"
    body = {"name": "韩梅", "identity_number": held, "hukou_type": "non_local"}
    refused = await registry.client.put(path, json=body, headers=worker)
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"] == "urn:wangge:problem:duplicate-person"
    assert holder["person_id"] not in refused.text
    assert UUID.findall(refused.json()["detail"]) == []
    assert tree.grid_code not in refused.text
    community = registry.as_("community_staff", places=[tree.community_code])
    named = await registry.client.put(path, json=body, headers=community)
    assert named.status_code == 409, named.text
    assert holder["person_id"] in named.json()["detail"]


async def test_a_tag_past_its_last_day_is_no_longer_carried_nor_found_and_may_be_given_again(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    pid = (await register_person(registry, tree))["person_id"]
    yesterday = (today() - timedelta(days=1)).isoformat()
    lapsed = {"tag": "subsistence_allowance", "source": "民政局", "valid_from": "2024-01-01",
              "valid_until": yesterday}  # fmt: skip
    tagged = await registry.client.post(f"/persons/{pid}/tags", json=lapsed, headers=tree.admin)
    assert tagged.status_code == 200, tagged.text
    assert tagged.json()["tags"] == []  # lapsed yesterday: not carried today
    search = {"tag": "subsistence_allowance"}
    found = await registry.client.get("/persons", params=search, headers=tree.admin)
    assert found.json()["items"] == []
    renewed = {**lapsed, "valid_from": today().isoformat(), "valid_until": None}
    again = await registry.client.post(f"/persons/{pid}/tags", json=renewed, headers=tree.admin)
    assert [(t["tag"], t["valid_until"]) for t in again.json()["tags"]] == [
        ("subsistence_allowance", None)
    ]
    found = await registry.client.get("/persons", params=search, headers=tree.admin)
    assert [p["person_id"] for p in found.json()["items"]] == [pid]


async def test_dwelling_ties_show_on_the_person_and_on_the_dwelling_until_they_end(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    pid = (await register_person(registry, tree))["person_id"]
    owner = {"dwelling_id": tree.dwelling, "relation": "owner", "since": "2020-01-01"}
    tied = await registry.client.post(
        f"/persons/{pid}/dwelling-ties", json=owner, headers=tree.admin
    )
    assert tied.status_code == 200, tied.text
    person = await registry.client.get(f"/persons/{pid}", headers=tree.admin)
    assert [(t["dwelling_id"], t["relation"], t["since"]) for t in person.json()["ties"]] == [
        (tree.dwelling, "owner", "2020-01-01")
    ]
    home = await registry.client.get(f"/places/{tree.dwelling}/residents", headers=tree.admin)
    assert [(t["person_id"], t["relation"]) for t in home.json()["ties"]] == [(pid, "owner")]
    assert home.json()["ties"][0]["name_masked"] == person.json()["name_masked"]
    ended = {"dwelling_id": tree.dwelling, "relation": "owner", "on": "2026-01-01"}
    await registry.client.post(f"/persons/{pid}/dwelling-ties/end", json=ended, headers=tree.admin)
    assert (await registry.client.get(f"/persons/{pid}", headers=tree.admin)).json()["ties"] == []
    home = await registry.client.get(f"/places/{tree.dwelling}/residents", headers=tree.admin)
    assert home.json()["ties"] == []


async def test_likely_duplicates_are_offered_for_review_until_merged_or_dismissed(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    born = identity_number(birth="19750302")
    kept = await register_person(registry, tree, name="王建国", identity_number=born)
    again = await register_person(
        registry, tree, name="王建国", identity_number=identity_number(birth="19750908")
    )
    typo = await register_person(
        registry, tree, name="王健国", identity_number=identity_number(birth="19751111")
    )
    await register_person(
        registry, tree, name="王建国", identity_number=identity_number(birth="19760302")
    )
    community = registry.as_("community_staff", places=[tree.community_code])
    found = await registry.client.get("/persons/duplicates", headers=community)
    assert found.status_code == 200, found.text
    page = found.json()
    ids = [{p["person"]["person_id"], p["other"]["person_id"]} for p in page["items"]]
    trio = {kept["person_id"], again["person_id"], typo["person_id"]}
    assert page["total"] == 3 and all(pair <= trio for pair in ids)
    best = page["items"][0]
    assert best["score"] == 0.9 and "same name" in best["reasons"]
    assert best["person"]["name_masked"].endswith("*") and "name" not in best["person"]
    worker = registry.as_("grid_worker", places=[tree.grid_code])
    assert (await registry.client.get("/persons/duplicates", headers=worker)).status_code == 403
    elsewhere = registry.as_("community_staff", places=[f"{tree.community_code[:-3]}002"])
    assert (await registry.client.get("/persons/duplicates", headers=elsewhere)).json() == {
        "items": [], "total": 0,
    }  # fmt: skip
    # two people after all: that pair is not offered again, from either side
    dismissed = await registry.client.post(
        f"/persons/{typo['person_id']}/duplicates/dismiss",
        json={"other_person_id": kept["person_id"]}, headers=community,
    )  # fmt: skip
    assert dismissed.status_code == 200, dismissed.text
    self_pair = await registry.client.post(
        f"/persons/{typo['person_id']}/duplicates/dismiss",
        json={"other_person_id": typo["person_id"]}, headers=community,
    )  # fmt: skip
    assert (self_pair.status_code, self_pair.json()["errors"][0]["field"]) == (
        422, "other_person_id",
    )  # fmt: skip
    left = (await registry.client.get("/persons/duplicates", headers=community)).json()
    assert left["total"] == 2
    assert {kept["person_id"], typo["person_id"]} not in [
        {p["person"]["person_id"], p["other"]["person_id"]} for p in left["items"]
    ]
    # merged, the duplicate leaves the review list; unmerged, it is back
    await registry.client.post(
        f"/persons/{again['person_id']}/merge",
        json={"into_person_id": kept["person_id"]}, headers=community,
    )  # fmt: skip
    after = (await registry.client.get("/persons/duplicates", headers=community)).json()
    assert after["total"] == 0
    await registry.client.post(f"/persons/{again['person_id']}/unmerge", headers=community)
    back = (await registry.client.get("/persons/duplicates", headers=community)).json()
    assert back["total"] == 2


async def test_a_merge_moves_tags_and_ties_to_the_kept_record_and_an_unmerge_takes_them_back(
    registry: Registry,
) -> None:
    tree = await build_tree(registry)
    kept = await register_person(registry, tree, name="赵六")
    duplicate = await register_person(registry, tree, name="赵六")
    community = registry.as_("community_staff", places=[tree.community_code])
    client = registry.client
    dup = f"/persons/{duplicate['person_id']}"
    tagged = await client.post(
        f"{dup}/tags", json={"tag": "veteran", "source": "退役军人事务局",
                             "valid_from": "2020-01-01"}, headers=community,
    )  # fmt: skip
    assert tagged.status_code == 200, tagged.text
    tie = {"dwelling_id": tree.dwelling, "relation": "owner", "since": "2019-05-01"}
    assert (await client.post(f"{dup}/dwelling-ties", json=tie, headers=community)).is_success
    merged = await client.post(
        f"{dup}/merge", json={"into_person_id": kept["person_id"]}, headers=community
    )
    assert merged.status_code == 200, merged.text
    survivor = (await client.get(f"/persons/{kept['person_id']}", headers=community)).json()
    assert [(t["tag"], t["source"], t["valid_from"]) for t in survivor["tags"]] == [
        ("veteran", "退役军人事务局", "2020-01-01"),
    ]  # fmt: skip
    assert [(t["relation"], t["since"]) for t in survivor["ties"]] == [("owner", "2019-05-01")]
    # the human is found once by the tag, under the kept record
    found = (await client.get("/persons?tag=veteran", headers=community)).json()["items"]
    assert [p["person_id"] for p in found] == [kept["person_id"]]
    undone = await client.post(f"{dup}/unmerge", headers=community)
    assert undone.status_code == 200, undone.text
    survivor = (await client.get(f"/persons/{kept['person_id']}", headers=community)).json()
    assert (survivor["tags"], survivor["ties"]) == ([], [])
    back = (await client.get(dup, headers=community)).json()
    assert [t["tag"] for t in back["tags"]] == ["veteran"] and len(back["ties"]) == 1
    found = (await client.get("/persons?tag=veteran", headers=community)).json()["items"]
    assert [p["person_id"] for p in found] == [duplicate["person_id"]]
