"""The MUST rules of xAPI 1.0.3 (Part Two, "Experience API Data") a received statement keeps.

A Learning Record Store refuses a statement that breaks one with a 400 and the reason; this
module names the property at fault (``body/actor/mbox``), so the provider learns which. The
rules kept: the top-level properties and no others; ``id`` a UUID; the actor an Agent with
exactly one inverse functional identifier (IFI) or a Group (anonymous: members; identified: one
IFI); the verb's id an IRI; the object an Activity, Agent, Group, StatementRef or SubStatement,
each with its own properties; ``result`` and ``context`` with theirs (a score within its bounds,
a duration in ISO 8601, ``revision`` and ``platform`` only about an Activity); timestamps in
ISO 8601 (not the offset ``-00:00``); ``version`` 1.0.x; no ``null`` outside extensions; a
voiding statement's object a StatementRef. Attachments are not taken: statements here come as
JSON, never as the multipart documents attachments need.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from wangge.governance.errors import DomainError

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
"""The verb of a statement that voids another."""

FIRST_YEAR, LAST_YEAR = 1900, 2199
"""The years a timestamp may name: the bounds of every time the service takes (at year 1 or
9999 the conversion to UTC overflows)."""

STATEMENT_KEYS = frozenset({
    "id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority",
    "version", "attachments",
})  # fmt: skip
AGENT_KEYS = frozenset({"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"})
GROUP_KEYS = AGENT_KEYS | {"member"}
IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
SUB_STATEMENT_KEYS = frozenset(
    {"objectType", "actor", "verb", "object", "result", "context", "timestamp"}
)
ACTIVITY_DEFINITION_KEYS = frozenset({
    "name", "description", "type", "moreInfo", "extensions", "interactionType",
    "correctResponsesPattern", "choices", "scale", "source", "target", "steps",
})  # fmt: skip
INTERACTION_TYPES = frozenset({
    "true-false", "choice", "fill-in", "long-fill-in", "matching", "performance", "sequencing",
    "likert", "numeric", "other",
})  # fmt: skip
CONTEXT_KEYS = frozenset({
    "registration", "instructor", "team", "contextActivities", "revision", "platform",
    "language", "statement", "extensions",
})  # fmt: skip
CONTEXT_ACTIVITY_KEYS = frozenset({"parent", "grouping", "category", "other"})
RESULT_KEYS = frozenset({"score", "success", "completion", "response", "duration", "extensions"})
SCORE_KEYS = frozenset({"scaled", "raw", "min", "max"})

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_MAILTO = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
_SHA1 = re.compile(r"^[0-9a-fA-F]{40}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
_VERSION = re.compile(r"^1\.0(\.\d+)?$")
_DURATION = re.compile(
    r"^P(?=\d|T\d)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)
_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)


class InvalidStatement(DomainError):
    """A statement that breaks a MUST rule of xAPI 1.0.3 (the specification's status: 400)."""

    status = 400
    slug = "xapi-invalid-statement"
    title = "The xAPI statement is not valid"


def _fail(path: str, reason: str) -> InvalidStatement:
    return InvalidStatement(f"{path.removeprefix('body/') or 'the statement'}: {reason}",
                            field=path)  # fmt: skip


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(path, "must be a JSON object")
    return value


def _only(value: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise _fail(f"{path}/{unknown[0]}", "is not a property xAPI 1.0.3 defines here")


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _fail(path, "must be a string")
    return value


def _iri(value: Any, path: str) -> str:
    if not _IRI.match(_string(value, path)):
        raise _fail(path, "must be an absolute IRI")
    return str(value)


def _uuid(value: Any, path: str) -> uuid.UUID:
    if not _UUID.match(_string(value, path)):
        raise _fail(path, "must be a UUID")
    return uuid.UUID(value)


def _boolean(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        raise _fail(path, "must be true or false")


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, "must be a number")
    return float(value)


def _language_map(value: Any, path: str) -> None:
    for tag, text in _object(value, path).items():
        if not _LANGUAGE.match(tag):
            raise _fail(f"{path}/{tag}", "must be keyed by an RFC 5646 language tag")
        _string(text, f"{path}/{tag}")


def _extensions(value: Any, path: str) -> None:
    for key in _object(value, path):
        _iri(key, f"{path}/{key}")


def timestamp(value: Any, path: str) -> datetime:
    """An ISO 8601 timestamp (UTC when it names no offset); ``-00:00`` is refused."""
    text = _string(value, path)
    if not _TIMESTAMP.match(text) or text.endswith(("-00:00", "-0000", "-00")):
        raise _fail(path, "must be an ISO 8601 timestamp (not with the offset -00:00)")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _fail(path, "must be an ISO 8601 timestamp") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise _fail(path, f"this LRS takes times from {FIRST_YEAR} to {LAST_YEAR}")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _nulls(value: Any, path: str) -> None:
    """No property is ``null`` (inside extensions anything goes)."""
    if value is None:
        raise _fail(path, "must not be null")
    if isinstance(value, dict):
        for key, inner in value.items():
            if key != "extensions":
                _nulls(inner, f"{path}/{key}")
    elif isinstance(value, list):
        for n, inner in enumerate(value):
            _nulls(inner, f"{path}/{n}")


def agent(value: Any, path: str, *, as_object: bool = False) -> None:
    """An Agent: exactly one IFI, an optional name."""
    found = _object(value, path)
    kind = found.get("objectType", "Agent")
    if kind != "Agent" or (as_object and "objectType" not in found):
        raise _fail(f"{path}/objectType", "must be Agent")
    _only(found, AGENT_KEYS, path)
    _identifiers(found, path, exactly_one=True)


def _identifiers(found: Mapping[str, Any], path: str, *, exactly_one: bool) -> int:
    present = [key for key in IFIS if key in found]
    if len(present) > 1 or (exactly_one and not present):
        raise _fail(path, "must have exactly one of mbox, mbox_sha1sum, openid, account")
    if "name" in found:
        _string(found["name"], f"{path}/name")
    if "mbox" in found and not _MAILTO.match(_string(found["mbox"], f"{path}/mbox")):
        raise _fail(f"{path}/mbox", "must be mailto:<an e-mail address>")
    if "mbox_sha1sum" in found and not _SHA1.match(
        _string(found["mbox_sha1sum"], f"{path}/mbox_sha1sum")
    ):
        raise _fail(f"{path}/mbox_sha1sum", "must be 40 hexadecimal digits")
    if "openid" in found:
        _iri(found["openid"], f"{path}/openid")
    if "account" in found:
        account = _object(found["account"], f"{path}/account")
        _only(account, frozenset({"homePage", "name"}), f"{path}/account")
        for key in ("homePage", "name"):
            if key not in account:
                raise _fail(f"{path}/account/{key}", "is required")
        _iri(account["homePage"], f"{path}/account/homePage")
        _string(account["name"], f"{path}/account/name")
    return len(present)


def group(value: Any, path: str) -> None:
    """A Group: anonymous (members, no IFI) or identified (one IFI, members optional)."""
    found = _object(value, path)
    if found.get("objectType") != "Group":
        raise _fail(f"{path}/objectType", "must be Group")
    _only(found, GROUP_KEYS, path)
    identified = _identifiers(found, path, exactly_one=False)
    members = found.get("member")
    if not identified and not members:
        raise _fail(f"{path}/member", "an anonymous Group must list its members")
    if members is not None:
        if not isinstance(members, list):
            raise _fail(f"{path}/member", "must be a list of Agents")
        for n, member in enumerate(members):
            agent(member, f"{path}/member/{n}")


def actor(value: Any, path: str) -> None:
    """An Agent or a Group."""
    if isinstance(value, dict) and value.get("objectType") == "Group":
        group(value, path)
    else:
        agent(value, path)


def verb(value: Any, path: str) -> str:
    found = _object(value, path)
    _only(found, frozenset({"id", "display"}), path)
    if "id" not in found:
        raise _fail(f"{path}/id", "is required")
    if "display" in found:
        _language_map(found["display"], f"{path}/display")
    return _iri(found["id"], f"{path}/id")


def activity(value: Any, path: str) -> None:
    found = _object(value, path)
    _only(found, frozenset({"objectType", "id", "definition"}), path)
    if found.get("objectType", "Activity") != "Activity":
        raise _fail(f"{path}/objectType", "must be Activity")
    if "id" not in found:
        raise _fail(f"{path}/id", "is required")
    _iri(found["id"], f"{path}/id")
    if "definition" not in found:
        return
    where = f"{path}/definition"
    definition = _object(found["definition"], where)
    _only(definition, ACTIVITY_DEFINITION_KEYS, where)
    for key in ("name", "description"):
        if key in definition:
            _language_map(definition[key], f"{where}/{key}")
    for key in ("type", "moreInfo"):
        if key in definition:
            _iri(definition[key], f"{where}/{key}")
    if "extensions" in definition:
        _extensions(definition["extensions"], f"{where}/extensions")
    if "interactionType" in definition and definition["interactionType"] not in INTERACTION_TYPES:
        raise _fail(f"{where}/interactionType", "is not an interaction type of xAPI 1.0.3")


def statement_ref(value: Any, path: str) -> uuid.UUID:
    found = _object(value, path)
    _only(found, frozenset({"objectType", "id"}), path)
    if "id" not in found:
        raise _fail(f"{path}/id", "is required")
    return _uuid(found["id"], f"{path}/id")


def statement_object(value: Any, path: str, *, inside: bool = False) -> str:
    """The object, by its ``objectType`` (an Activity when none is given); its type."""
    found = _object(value, path)
    kind = found.get("objectType", "Activity")
    if kind == "Activity":
        activity(found, path)
    elif kind == "Agent":
        agent(found, path, as_object=True)
    elif kind == "Group":
        group(found, path)
    elif kind == "StatementRef":
        statement_ref(found, path)
    elif kind == "SubStatement" and not inside:
        _only(found, SUB_STATEMENT_KEYS, path)
        _core(found, path, inside=True)
    else:
        raise _fail(f"{path}/objectType", f"{kind!r} is not an object type here")
    return str(kind)


def result(value: Any, path: str) -> None:
    found = _object(value, path)
    _only(found, RESULT_KEYS, path)
    for key in ("success", "completion"):
        if key in found:
            _boolean(found[key], f"{path}/{key}")
    if "response" in found:
        _string(found["response"], f"{path}/response")
    if "duration" in found and not _DURATION.match(_string(found["duration"], f"{path}/duration")):
        raise _fail(f"{path}/duration", "must be an ISO 8601 duration")
    if "extensions" in found:
        _extensions(found["extensions"], f"{path}/extensions")
    if "score" not in found:
        return
    where = f"{path}/score"
    score = _object(found["score"], where)
    _only(score, SCORE_KEYS, where)
    values = {key: _number(score[key], f"{where}/{key}") for key in SCORE_KEYS if key in score}
    if "scaled" in values and not -1 <= values["scaled"] <= 1:
        raise _fail(f"{where}/scaled", "must lie between -1 and 1")
    low, high = values.get("min"), values.get("max")
    if low is not None and high is not None and low >= high:
        raise _fail(f"{where}/max", "must be greater than min")
    raw = values.get("raw")
    if raw is not None and ((low is not None and raw < low) or (high is not None and raw > high)):
        raise _fail(f"{where}/raw", "must lie between min and max")


def context(value: Any, path: str, *, about_activity: bool) -> None:
    found = _object(value, path)
    _only(found, CONTEXT_KEYS, path)
    if "registration" in found:
        _uuid(found["registration"], f"{path}/registration")
    if "instructor" in found:
        actor(found["instructor"], f"{path}/instructor")
    if "team" in found:
        group(found["team"], f"{path}/team")
    for key in ("revision", "platform"):
        if key in found:
            _string(found[key], f"{path}/{key}")
            if not about_activity:
                raise _fail(f"{path}/{key}", "is only for a statement about an Activity")
    if "language" in found and not _LANGUAGE.match(_string(found["language"], f"{path}/language")):
        raise _fail(f"{path}/language", "must be an RFC 5646 language tag")
    if "statement" in found:
        reference = _object(found["statement"], f"{path}/statement")
        if reference.get("objectType") != "StatementRef":
            raise _fail(f"{path}/statement/objectType", "must be StatementRef")
        statement_ref(reference, f"{path}/statement")
    if "extensions" in found:
        _extensions(found["extensions"], f"{path}/extensions")
    if "contextActivities" in found:
        where = f"{path}/contextActivities"
        activities = _object(found["contextActivities"], where)
        _only(activities, CONTEXT_ACTIVITY_KEYS, where)
        for key, listed in activities.items():
            for n, one in enumerate(listed if isinstance(listed, list) else [listed]):
                activity(one, f"{where}/{key}/{n}")


def _core(found: Mapping[str, Any], path: str, *, inside: bool) -> str:
    """Actor, verb, object, result, context and timestamp, a statement's and a SubStatement's;
    the verb's id."""
    for key in ("actor", "verb", "object"):
        if key not in found:
            raise _fail(f"{path}/{key}", "is required")
    actor(found["actor"], f"{path}/actor")
    verb_id = verb(found["verb"], f"{path}/verb")
    kind = statement_object(found["object"], f"{path}/object", inside=inside)
    if verb_id == VOIDED and kind != "StatementRef":
        raise _fail(f"{path}/object/objectType", "a voiding statement's object is a StatementRef")
    if "result" in found:
        result(found["result"], f"{path}/result")
    if "context" in found:
        context(found["context"], f"{path}/context", about_activity=kind == "Activity")
    if "timestamp" in found:
        timestamp(found["timestamp"], f"{path}/timestamp")
    return verb_id


def check(statement: Any, path: str = "body") -> dict[str, Any]:
    """The statement, checked against every rule above (:class:`InvalidStatement` naming the
    first property at fault)."""
    found = _object(statement, path)
    _nulls(found, path)
    _only(found, STATEMENT_KEYS, path)
    if "id" in found:
        _uuid(found["id"], f"{path}/id")
    _core(found, path, inside=False)
    if "stored" in found:
        timestamp(found["stored"], f"{path}/stored")
    if "authority" in found:
        actor(found["authority"], f"{path}/authority")
    if "version" in found and not _VERSION.match(_string(found["version"], f"{path}/version")):
        raise _fail(f"{path}/version", "must be 1.0 or 1.0.x")
    if "attachments" in found:
        raise _fail(f"{path}/attachments", "this LRS takes statements without attachments")
    return found
