"""The pseudonymisation policy: what the replay writes of each field of each event's data.

A file, not code, because what may leave the system is the data protection officer's decision and
differs between deployments; the shipped default (``default_policy.toml``) is the safe one. Rules
are resolved per field, most specific first: the event type's rule for the field's dotted path,
then the rule for the field's name in any type, then the default of the field's kind.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from importlib.resources import files
from pathlib import Path
from typing import Any


class Action(StrEnum):
    """What becomes of one field."""

    KEEP = "keep"
    HASH = "hash"
    DROP = "drop"
    BUILDING = "building"
    COARSE = "coarse"
    JSON = "json"


class Kind(StrEnum):
    """The kinds of field a default is set for (dates, numbers and enumerations are kept)."""

    IDENTIFIER = "identifier"
    TEXT = "text"
    UNION = "union"


class PolicyError(ValueError):
    """A policy file that cannot be applied; the message names the rule."""


@dataclass(frozen=True)
class Rule:
    """An action, for every event or only for those whose data holds one of ``when``'s values."""

    action: Action
    when: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def applies(self, data: Mapping[str, Any]) -> bool:
        """Whether the rule is for an event with this data."""
        return all(str(data.get(name)) in values for name, values in self.when.items())


@dataclass(frozen=True)
class Policy:
    """A loaded policy file."""

    defaults: Mapping[Kind, Action]
    fields: Mapping[str, Rule]
    types: Mapping[str, Mapping[str, Rule]]
    digest: str
    """SHA-256 of the file's text: an export records which policy made it."""

    def rules(self, event_type: str, path: str) -> list[Rule]:
        """The rules for one field, most specific first (the kind's default comes after)."""
        found = []
        own = self.types.get(event_type, {}).get(path)
        if own is not None:
            found.append(own)
        by_name = self.fields.get(path.rsplit(".", 1)[-1])
        if by_name is not None:
            found.append(by_name)
        return found

    def default(self, kind: Kind) -> Action:
        """The action for a field of ``kind`` that no rule names."""
        return self.defaults[kind]


DEFAULTS = {Kind.IDENTIFIER: Action.HASH, Kind.TEXT: Action.DROP, Kind.UNION: Action.DROP}


def _rule(where: str, value: Any) -> Rule:
    if isinstance(value, str):
        return Rule(_action(where, value))
    if not isinstance(value, dict) or set(value) - {"action", "when"} or "action" not in value:
        raise PolicyError(f"{where}: a rule is an action or {{ action = ..., when = {{...}} }}")
    when = value.get("when", {})
    if not isinstance(when, dict):
        raise PolicyError(f"{where}.when: a table of field = [values]")
    conditions = {}
    for name, values in when.items():
        listed = values if isinstance(values, list) else [values]
        conditions[name] = frozenset(str(v) for v in listed)
    return Rule(_action(f"{where}.action", value["action"]), conditions)


def _action(where: str, value: Any) -> Action:
    try:
        return Action(value)
    except ValueError:
        known = ", ".join(a.value for a in Action)
        raise PolicyError(f"{where}: unknown action {value!r} (known: {known})") from None


def parse(text: str) -> Policy:
    """A policy from a file's text; :class:`PolicyError` names what is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"not TOML: {error}") from None
    unknown = set(raw) - {"defaults", "fields", "types"}
    if unknown:
        raise PolicyError(f"unknown sections: {', '.join(sorted(unknown))}")
    defaults = dict(DEFAULTS)
    for name, value in raw.get("defaults", {}).items():
        try:
            kind = Kind(name)
        except ValueError:
            raise PolicyError(f"defaults.{name}: unknown kind") from None
        defaults[kind] = _action(f"defaults.{name}", value)
    fields = {name: _rule(f"fields.{name}", value) for name, value in raw.get("fields", {}).items()}
    types = {
        event_type: {path: _rule(f"types.{event_type}.{path}", v) for path, v in rules.items()}
        for event_type, rules in raw.get("types", {}).items()
    }
    return Policy(defaults, fields, types, hashlib.sha256(text.encode()).hexdigest())


def default_text() -> str:
    """The shipped policy's text."""
    return files("wangge.replay").joinpath("default_policy.toml").read_text(encoding="utf-8")


def load(path: Path | None) -> Policy:
    """The policy in ``path``, or the shipped default."""
    return parse(path.read_text(encoding="utf-8") if path is not None else default_text())
