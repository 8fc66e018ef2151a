"""An event type's columns: its JSON Schema (the published contract) read through the policy.

Compiled once per type. Each field of the event's data becomes a typed column (dates as dates,
times as UTC timestamps, lists as lists, objects as structs), so an analyst's engine reads types,
not JSON text; what the policy drops has no column at all. Sealed blocks are never written: the
replay has no data keys, and ciphertext is of no use to an analyst.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from wangge.governance.addresses import building_of
from wangge.replay.policy import Action, Kind, Policy, PolicyError, Rule

JsonSchema = Mapping[str, Any]
Hash = Callable[[str], str]

_SEALED = frozenset({"key", "nonce", "ciphertext"})
_WIRE_STRING = pa.string()
TIMESTAMP = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Node:
    """The shape of one value in the schema."""

    kind: str
    """uuid, date, datetime, int, float, bool, enum, text, union, list, struct or sealed"""
    item: Node | None = None
    children: tuple[tuple[str, Node], ...] = ()
    values: tuple[str, ...] = ()
    """an enumeration's values"""


def _resolve(schema: JsonSchema, defs: Mapping[str, Any]) -> tuple[JsonSchema, str | None]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        return defs[name], name
    return schema, None


def node_of(schema: JsonSchema, defs: Mapping[str, Any]) -> Node:
    """The shape of a (sub)schema; ``anyOf`` with null is the other shape, made optional."""
    schema, name = _resolve(schema, defs)
    options = schema.get("anyOf")
    if isinstance(options, list):
        shapes = [o for o in options if o.get("type") != "null"]
        if len(shapes) == 1:
            return node_of(shapes[0], defs)
        return Node("union")
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        if name == "Sealed" or set(properties) == _SEALED:
            return Node("sealed")
        return Node(
            "struct", children=tuple((k, node_of(v, defs)) for k, v in sorted(properties.items()))
        )
    if kind == "array":
        return Node("list", item=node_of(schema.get("items", {}), defs))
    if kind == "string":
        if "enum" in schema or "const" in schema:
            allowed = schema["enum"] if "enum" in schema else [schema["const"]]
            return Node("enum", values=tuple(str(v) for v in allowed))
        fmt = schema.get("format")
        if fmt == "uuid":
            return Node("uuid")
        if fmt == "date":
            return Node("date")
        if fmt == "date-time":
            return Node("datetime")
        return Node("text")
    if "enum" in schema:
        return Node("enum")
    return Node({"integer": "int", "number": "float", "boolean": "bool"}.get(str(kind), "union"))


def _default(node: Node, policy: Policy) -> Action:
    leaf = node.item if node.kind == "list" and node.item is not None else node
    if leaf.kind == "uuid":
        return policy.default(Kind.IDENTIFIER)
    if leaf.kind == "text":
        return policy.default(Kind.TEXT)
    if leaf.kind == "union":
        return policy.default(Kind.UNION)
    return Action.KEEP


_ARROW: dict[str, pa.DataType] = {
    "uuid": pa.string(),
    "date": pa.date32(),
    "datetime": TIMESTAMP,
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "enum": pa.string(),
    "text": pa.string(),
}


Convert = Callable[[Any, Mapping[str, Any]], Any]
"""A value as it is written, from the recorded value and the whole event's data."""


@dataclass(frozen=True)
class Column:
    """One written field: its Arrow type, the type it is built in, and how its value is made."""

    name: str
    type: pa.DataType
    wire: pa.DataType
    """Dates and times are built as text and cast by Arrow, a column at a time."""
    convert: Convert


def _wire(kind: pa.DataType) -> pa.DataType:
    if kind == TIMESTAMP or kind == pa.date32():
        return _WIRE_STRING
    if pa.types.is_list(kind):
        return pa.list_(_wire(kind.value_type))
    if pa.types.is_struct(kind):
        return pa.struct([pa.field(f.name, _wire(f.type)) for f in kind])
    return kind


def _transform(action: Action, node: Node, hash_: Hash, where: str) -> tuple[pa.DataType, Any]:
    """The written type and a value function for a leaf (or a list of leaves) under ``action``."""
    leaf = node.item if node.kind == "list" and node.item is not None else node
    many = node.kind == "list"

    def each(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if not many:
            return lambda v: None if v is None else fn(v)
        return lambda v: None if v is None else [None if x is None else fn(x) for x in v]

    def typed(kind: pa.DataType) -> pa.DataType:
        return pa.list_(kind) if many else kind

    if action is Action.JSON:
        return pa.string(), lambda v: None if v is None else _json(v)
    if action is Action.HASH:
        if leaf.kind not in ("uuid", "text", "enum"):
            raise PolicyError(f"{where}: only text and identifiers can be hashed ({leaf.kind})")
        return typed(pa.string()), each(lambda v: hash_(str(v)))
    if action is Action.BUILDING:
        if leaf.kind != "text":
            raise PolicyError(f"{where}: only an address text can be cut to its building")
        return typed(pa.string()), each(building_of)
    if action is Action.COARSE:
        if leaf.kind != "float":
            raise PolicyError(f"{where}: only a coordinate (a number) can be coarsened")
        return typed(pa.float64()), each(lambda v: round(float(v), 3))
    if leaf.kind == "union":
        return pa.string(), lambda v: None if v is None else _json(v)
    return typed(_ARROW[leaf.kind]), lambda v: v


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _pick(rules: Sequence[Rule], default: Action) -> Callable[[Mapping[str, Any]], Action]:
    if not rules or not rules[0].when:
        chosen = rules[0].action if rules else default
        return lambda data: chosen
    rest = _pick(rules[1:], default)
    first = rules[0]
    return lambda data: first.action if first.applies(data) else rest(data)


def _possible(rules: Sequence[Rule], default: Action) -> list[Action]:
    found = []
    for rule in rules:
        found.append(rule.action)
        if not rule.when:
            return found
    return [*found, default]


def _field(
    event_type: str, path: str, node: Node, policy: Policy, hash_: Hash
) -> tuple[pa.DataType, Convert] | None:
    """The written type and value function of a field, or None when nothing of it is written."""
    if node.kind == "sealed":
        return None
    rules = policy.rules(event_type, path)
    default = _default(node, policy)
    struct = node.item if node.kind == "list" and node.item is not None else node
    if struct.kind == "struct":
        explicit = [r.action for r in rules if not r.when][:1]
        if explicit and explicit[0] in (Action.DROP, Action.JSON):
            if explicit[0] is Action.DROP:
                return None
            return pa.string(), lambda v, data: None if v is None else _json(v)
        return _struct(event_type, path, struct, policy, hash_, many=node.kind == "list")
    possible = _possible(rules, default)
    if all(a is Action.DROP for a in possible):
        return None
    made = {a: _transform(a, node, hash_, f"{event_type} {path}") for a in set(possible)}
    written = {a: m for a, m in made.items() if a is not Action.DROP}
    types = {m[0] for m in written.values()}
    if len(types) > 1:
        raise PolicyError(f"{event_type} {path}: its rules would write values of several types")
    (kind,) = types
    choose = _pick(rules, default)
    fns = {a: m[1] for a, m in made.items()}

    def convert(value: Any, data: Mapping[str, Any]) -> Any:
        action = choose(data)
        return None if action is Action.DROP else fns[action](value)

    return kind, convert


def _struct(
    event_type: str, path: str, node: Node, policy: Policy, hash_: Hash, *, many: bool
) -> tuple[pa.DataType, Convert] | None:
    parts = []
    for name, child in node.children:
        made = _field(event_type, f"{path}.{name}", child, policy, hash_)
        if made is not None:
            parts.append((name, made[0], made[1]))
    if not parts:
        return None
    kind = pa.struct([pa.field(name, t) for name, t, _ in parts])

    def one(value: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        return {name: fn(value.get(name), data) for name, _, fn in parts}

    if many:
        return pa.list_(
            kind
        ), lambda v, data: None if v is None else [None if x is None else one(x, data) for x in v]
    return kind, lambda v, data: None if v is None else one(v, data)


@dataclass(frozen=True)
class Plan:
    """The data columns of one event type."""

    event_type: str
    columns: tuple[Column, ...]

    def row(self, data: Mapping[str, Any]) -> list[Any]:
        """The written values of one event's data (at the newest version), in column order."""
        return [c.convert(data.get(c.name), data) for c in self.columns]


def compile_plan(event_type: str, schema: JsonSchema, policy: Policy, hash_: Hash) -> Plan:
    """The plan of a type from its JSON Schema (``$defs`` inline) and the policy."""
    defs = schema.get("$defs", {})
    columns = []
    for name, sub in sorted(schema.get("properties", {}).items()):
        made = _field(event_type, name, node_of(sub, defs), policy, hash_)
        if made is not None:
            kind, convert = made
            columns.append(Column(name, kind, _wire(kind), convert))
    return Plan(event_type, tuple(columns))


def identifiers_in_clear(event_type: str, schema: JsonSchema, policy: Policy) -> list[str]:
    """The fields of a type whose identifiers the policy would write as recorded (kept, or
    inside a value kept as JSON): an export with any is not pseudonymised."""
    defs = schema.get("$defs", {})
    found: list[str] = []

    def walk(path: str, node: Node, exposed: bool) -> None:
        if node.kind == "sealed":
            return
        rules = policy.rules(event_type, path)
        actions = _possible(rules, _default(node, policy))
        inner = node.item if node.kind == "list" and node.item is not None else node
        if inner.kind == "struct":
            explicit = [r.action for r in rules if not r.when][:1]
            whole = bool(explicit) and explicit[0] is Action.JSON
            for name, child in inner.children:
                walk(f"{path}.{name}", child, exposed or whole)
            return
        if inner.kind == "uuid" and (exposed or Action.KEEP in actions or Action.JSON in actions):
            found.append(path)

    for name, sub in sorted(schema.get("properties", {}).items()):
        walk(name, node_of(sub, defs), False)
    return found
