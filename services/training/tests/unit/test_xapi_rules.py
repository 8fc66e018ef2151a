"""The MUST rules of xAPI 1.0.3 a received statement keeps, one rule at a time: each broken rule
is refused naming the property at fault."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from wangge.training.domain import xapi_rules
from wangge.training.domain.received_statements import comparable, identifier
from wangge.training.domain.xapi_rules import InvalidStatement

ADL = "http://adlnet.gov/expapi/verbs/"


def _statement() -> dict[str, Any]:
    return {
        "id": "3e5c2b9a-7d41-4c1e-9f0a-2b6d8e4f1a30",
        "actor": {"objectType": "Agent", "name": "王芳", "mbox": "mailto:wangfang@example.org"},
        "verb": {"id": ADL + "completed", "display": {"zh-CN": "完成"}},
        "object": {
            "objectType": "Activity",
            "id": "https://learn.example.org/courses/mediation",
            "definition": {"name": {"zh-CN": "人民调解"}, "type": ADL + "course"},
        },
        "result": {"score": {"raw": 80, "min": 0, "max": 100, "scaled": 0.8}, "success": True,
                   "duration": "PT1H30M"},
        "context": {"registration": "9a7e0b34-5d1c-4f2a-8b3e-6c9d0e1f2a3b", "language": "zh-CN",
                    "platform": "学习平台"},
        "timestamp": "2026-05-01T09:30:00+08:00",
        "version": "1.0.3",
    }  # fmt: skip


def _refused(change: Callable[[dict[str, Any]], object]) -> str:
    statement = _statement()
    change(statement)
    with pytest.raises(InvalidStatement) as refused:
        xapi_rules.check(statement)
    assert refused.value.status == 400
    field = refused.value.field
    assert field is not None
    return field


def test_a_statement_keeping_every_rule_is_taken_as_it_is() -> None:
    statement = _statement()
    assert xapi_rules.check(copy.deepcopy(statement)) == statement


def test_a_statement_without_id_or_timestamp_or_version_is_taken() -> None:
    statement = _statement()
    for key in ("id", "timestamp", "version", "result", "context"):
        del statement[key]
    xapi_rules.check(statement)


def test_an_unknown_top_level_property_is_refused() -> None:
    assert _refused(lambda s: s.update(mood="happy")) == "body/mood"


def test_an_id_that_is_no_uuid_is_refused() -> None:
    assert _refused(lambda s: s.update(id="statement-1")) == "body/id"


def test_an_agent_with_no_identifier_or_two_is_refused() -> None:
    assert _refused(lambda s: s["actor"].pop("mbox")) == "body/actor"
    two = {"mbox_sha1sum": "a" * 40}
    assert _refused(lambda s: s["actor"].update(two)) == "body/actor"


def test_each_identifier_keeps_its_form() -> None:
    assert _refused(lambda s: s["actor"].update(mbox="wangfang@example.org")) == "body/actor/mbox"
    sha = {"mbox_sha1sum": "xyz"}
    assert (
        _refused(lambda s: (s["actor"].pop("mbox"), s["actor"].update(sha)))
        == "body/actor/mbox_sha1sum"
    )
    account = {"account": {"homePage": "https://learn.example.org"}}
    assert (
        _refused(lambda s: (s["actor"].pop("mbox"), s["actor"].update(account)))
        == "body/actor/account/name"
    )
    openid = {"openid": "not an iri"}
    assert (
        _refused(lambda s: (s["actor"].pop("mbox"), s["actor"].update(openid)))
        == "body/actor/openid"
    )


def test_an_anonymous_group_lists_its_members_and_they_are_agents() -> None:
    group = {"objectType": "Group", "name": "第一网格"}
    assert _refused(lambda s: s.update(actor=group)) == "body/actor/member"
    members = {**group, "member": [{"objectType": "Group", "member": []}]}
    assert _refused(lambda s: s.update(actor=members)) == "body/actor/member/0/objectType"
    fine = _statement()
    fine["actor"] = {**group, "member": [{"mbox": "mailto:a@example.org"}]}
    xapi_rules.check(fine)


def test_a_verb_needs_an_iri_and_a_language_map() -> None:
    assert _refused(lambda s: s["verb"].update(id="completed")) == "body/verb/id"
    assert _refused(lambda s: s["verb"].pop("id")) == "body/verb/id"
    assert _refused(lambda s: s["verb"].update(display="完成")) == "body/verb/display"
    assert (
        _refused(lambda s: s["verb"].update(display={"中文": "完成"})) == "body/verb/display/中文"
    )


def test_the_object_is_one_of_the_object_types_with_its_own_properties() -> None:
    assert _refused(lambda s: s["object"].update(objectType="Course")) == "body/object/objectType"
    assert _refused(lambda s: s["object"].pop("id")) == "body/object/id"
    ref = {"objectType": "StatementRef", "id": "nope"}
    assert _refused(lambda s: s.update(object=ref)) == "body/object/id"
    agent = {"objectType": "Agent", "mbox": "mailto:a@example.org", "definition": {}}
    assert _refused(lambda s: s.update(object=agent)) == "body/object/definition"
    kind = {"interactionType": "essay"}
    assert (
        _refused(lambda s: s["object"]["definition"].update(kind))
        == "body/object/definition/interactionType"
    )


def test_a_sub_statement_has_no_id_and_holds_no_sub_statement() -> None:
    inner = _statement()
    for key in ("id", "version", "result", "context"):
        del inner[key]
    sub = {"objectType": "SubStatement", **inner}
    fine = _statement()
    fine["object"] = sub
    del fine["context"]
    xapi_rules.check(fine)
    assert _refused(lambda s: s.update(object={**sub, "id": s["id"]})) == "body/object/id"
    nested = {**sub, "object": dict(sub)}
    assert _refused(lambda s: s.update(object=nested)) == "body/object/object/objectType"


def test_a_voiding_statement_voids_a_statement_ref() -> None:
    assert _refused(lambda s: s["verb"].update(id=ADL + "voided")) == "body/object/objectType"


def test_a_score_lies_within_its_bounds() -> None:
    assert _refused(lambda s: s["result"]["score"].update(scaled=1.5)) == "body/result/score/scaled"
    assert _refused(lambda s: s["result"]["score"].update(raw=120)) == "body/result/score/raw"
    assert _refused(lambda s: s["result"]["score"].update(min=100)) == "body/result/score/max"
    assert _refused(lambda s: s["result"].update(duration="90 minutes")) == "body/result/duration"
    assert _refused(lambda s: s["result"].update(success="yes")) == "body/result/success"


def test_context_keeps_its_rules() -> None:
    assert (
        _refused(lambda s: s["context"].update(registration="r-1")) == "body/context/registration"
    )
    agent = {"objectType": "Agent", "mbox": "mailto:a@example.org"}
    assert _refused(lambda s: s.update(object=agent)) == "body/context/platform"
    assert _refused(lambda s: s["context"].update(language="中文")) == "body/context/language"


def test_timestamps_are_iso_8601_and_not_negative_zero() -> None:
    assert _refused(lambda s: s.update(timestamp="2026/05/01 09:30")) == "body/timestamp"
    assert _refused(lambda s: s.update(timestamp="2026-05-01T09:30:00-00:00")) == "body/timestamp"
    assert _refused(lambda s: s.update(stored="yesterday")) == "body/stored"
    assert _refused(lambda s: s.update(timestamp="0001-01-01T00:00:00+14:00")) == "body/timestamp"
    naive = xapi_rules.timestamp("2026-05-01T09:30:00", "body/timestamp")
    assert naive.utcoffset() is not None


def test_the_version_is_1_0_x() -> None:
    assert _refused(lambda s: s.update(version="2.0.0")) == "body/version"
    xapi_rules.check({**_statement(), "version": "1.0"})


def test_an_authority_is_an_agent_or_group() -> None:
    assert _refused(lambda s: s.update(authority={"name": "平台"})) == "body/authority"


def test_null_is_refused_outside_extensions() -> None:
    assert _refused(lambda s: s["result"].update(response=None)) == "body/result/response"
    fine = _statement()
    fine["result"]["extensions"] = {"https://learn.example.org/ext/note": None}
    xapi_rules.check(fine)


def test_attachments_are_not_taken() -> None:
    assert _refused(lambda s: s.update(attachments=[])) == "body/attachments"


def test_a_list_names_the_statement_at_fault_by_its_place() -> None:
    with pytest.raises(InvalidStatement) as refused:
        xapi_rules.check({**_statement(), "id": "x"}, "body/3")
    assert refused.value.field == "body/3/id"


def test_what_is_compared_leaves_out_what_may_differ() -> None:
    one = _statement()
    other = {**_statement(), "timestamp": "2026-05-02T00:00:00Z", "version": "1.0.0",
             "stored": "2026-05-02T00:00:00Z"}  # fmt: skip
    assert comparable(one) == comparable(other)
    assert comparable(one) != comparable({**one, "result": {"success": False}})
    members = [{"mbox": "mailto:a@example.org"}, {"mbox": "mailto:b@example.org"}]
    group = {"objectType": "Group", "member": members}
    turned = {"objectType": "Group", "member": members[::-1]}
    assert comparable({**one, "actor": group}) == comparable({**one, "actor": turned})
    assert identifier(group) == identifier(turned)
    assert identifier(one["actor"]) == "mbox:mailto:wangfang@example.org"
