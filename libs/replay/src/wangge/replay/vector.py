"""The fast way to a type's columns: a chunk's JSON parsed by Arrow in one go, the policy applied
a column at a time.

An event at its type's current schema version was validated by its producer when it was
appended (the store validates every event it writes), so its recorded JSON is parsed as it
stands, against the plan's types, by Arrow's JSON reader; identifiers are hashed once per
distinct value (a person's id recurs in every event of theirs). Only what this cannot express
goes row by row through :class:`~wangge.replay.plan.Plan` (a rule that depends on another
field's value, a value kept as JSON text), and a block Arrow refuses (a producer's bug) is
validated row by row, each bad row kept with its fault: both give the same values.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from wangge.governance.addresses import building_of
from wangge.replay.plan import (
    _ARROW,
    Hash,
    JsonSchema,
    Node,
    _default,
    _json,
    _possible,
    node_of,
)
from wangge.replay.policy import Action, Policy, Rule

Transform = Callable[[Any], Any]
"""An Arrow array (of a column, a list's items, a struct's field) to the one written."""


class RowByRow(Exception):
    """A type whose policy needs each row's other fields (or JSON text): the slow way."""


class NotItsType(pa.ArrowInvalid):
    """A value outside its enumeration: the block is validated row by row."""


Column = Callable[[pa.Table, Sequence[bytes]], Any]
"""A written column from the parsed fields and the lines they were parsed from."""


@dataclass(frozen=True)
class VectorPlan:
    """How a type's data columns are made from its JSON a column at a time."""

    wire: pa.Schema
    """the fields Arrow parses (dates and times as text), kept ones and those rules look at"""
    columns: tuple[Column, ...]

    def parse(self, lines: Sequence[bytes]) -> pa.Table:
        """The kept fields of each line (a JSON object per event); ``pa.ArrowInvalid`` if a
        value is not of its field's type."""
        options = pj.ParseOptions(explicit_schema=self.wire, unexpected_field_behavior="ignore")
        read = pj.ReadOptions(block_size=1 << 24)
        return pj.read_json(io.BytesIO(b"\n".join(lines)), read_options=read, parse_options=options)

    def arrays(self, parsed: pa.Table, lines: Sequence[bytes]) -> list[Any]:
        """The written columns, in the plan's order."""
        return [column(parsed, lines) for column in self.columns]


def _plain(name: str, fn: Transform) -> Column:
    return lambda parsed, lines: fn(parsed.column(name).combine_chunks())


def _as_json(name: str) -> Column:
    """A value of several shapes (GeoJSON) as JSON text, from each line: Arrow's reader holds
    one shape per column. Only such types pay for a Python parse of their lines."""

    def column(parsed: pa.Table, lines: Sequence[bytes]) -> Any:
        values = (json.loads(line).get(name) for line in lines)
        return pa.array([None if v is None else _json(v) for v in values], pa.string())

    return column


def _chosen(
    name: str, rules: Sequence[Rule], made: Mapping[Action, tuple[pa.DataType, Transform] | None],
    default: Action, kind: pa.DataType,
) -> Column:  # fmt: skip
    """A column whose action depends on other fields (``when``): each rule's transform where
    its condition holds, the next rule's elsewhere, null where the action drops."""

    def column(parsed: pa.Table, lines: Sequence[bytes]) -> Any:
        values = parsed.column(name).combine_chunks()
        out = _result(made[default], values, kind)
        for rule in reversed(rules):
            result = _result(made[rule.action], values, kind)
            if not rule.when:
                out = result
                continue
            holds: Any = pa.array([True] * len(values))
            for field, allowed in rule.when.items():
                found: Any = parsed.column(field).combine_chunks().cast(pa.string())
                listed: Any = pa.array(sorted(allowed), pa.string())
                inside: Any = pc.fill_null(pc.is_in(found, value_set=listed), False)
                holds = pc.and_(holds, inside)
            out = pc.if_else(holds, result, out)
        return out

    return column


def _result(made: tuple[pa.DataType, Transform] | None, values: Any, kind: pa.DataType) -> Any:
    if made is None:
        return pa.array([None] * len(values), kind)
    return made[1](values)


def mapped(fn: Callable[[str], Any], kind: pa.DataType) -> Transform:
    """Apply ``fn`` once per distinct value of a text column (nulls stay null); a function that
    maps a whole column (``fn.column``, a pseudonymiser's) is given the distinct values at once."""
    whole = getattr(fn, "column", None)

    def apply(values: Any) -> Any:
        if len(values) == 0:
            return pa.array([], type=kind)
        encoded = values.dictionary_encode()
        if whole is not None and encoded.dictionary.type == pa.string():
            dictionary = whole(encoded.dictionary)
        else:
            dictionary = pa.array(list(map(fn, encoded.dictionary.to_pylist())), type=kind)
        return dictionary.take(encoded.indices)

    return apply


def _per_item(leaf: Transform) -> Transform:
    def apply(values: Any) -> Any:
        items = leaf(values.flatten())  # from the first list's first item, sliced or not
        offsets = pc.subtract(values.offsets, values.offsets[0])
        return pa.ListArray.from_arrays(offsets, items, mask=values.is_null())

    return apply


def _cast(kind: pa.DataType) -> Transform:
    return lambda values: values if values.type == kind else values.cast(kind)


def _checked(node: Node, then: Transform) -> Transform:
    """``then``, once every value of an enumeration is one of its values."""
    allowed = pa.array(node.values, pa.string())

    def apply(values: Any) -> Any:
        if values.null_count == len(values):
            return then(values)  # nothing to check (an empty list's items, all nulls)
        known = pc.is_in(values, value_set=allowed)
        if not pc.all(pc.or_kleene(known, values.is_null())).as_py():
            raise NotItsType(f"a value outside {node.values}")
        return then(values)

    return apply


def _leaf(action: Action, node: Node, hash_: Hash) -> tuple[pa.DataType, Transform] | None:
    """The wire type and transform of one leaf under ``action``; None when dropped."""
    made = _leaf_as_written(action, node.kind, hash_)
    if made is None or node.kind != "enum" or not node.values:
        return made
    return made[0], _checked(node, made[1])


def _leaf_as_written(
    action: Action, kind: str, hash_: Hash
) -> tuple[pa.DataType, Transform] | None:
    if action is Action.DROP:
        return None
    if action is Action.HASH:
        return pa.string(), mapped(hash_, pa.string())
    if action is Action.BUILDING:
        return pa.string(), mapped(building_of, pa.string())
    if action is Action.COARSE:
        return pa.float64(), lambda values: pc.round(values.cast(pa.float64()), 3)
    if action is Action.JSON or kind == "union":
        raise RowByRow()
    target = _ARROW[kind]
    wire = pa.string() if kind in ("date", "datetime") else target
    return wire, _cast(target)


def _field(
    event_type: str, path: str, node: Node, policy: Policy, hash_: Hash
) -> tuple[pa.DataType, Transform] | None:
    if node.kind == "sealed":
        return None
    rules = policy.rules(event_type, path)
    if any(rule.when for rule in rules):
        raise RowByRow()
    inner = node.item if node.kind == "list" and node.item is not None else node
    if inner.kind == "struct":
        explicit = [r.action for r in rules][:1]
        if explicit and explicit[0] is Action.DROP:
            return None
        if explicit and explicit[0] is Action.JSON:
            raise RowByRow()
        made = _struct(event_type, path, inner, policy, hash_)
    else:
        (action,) = _possible(rules, _default(node, policy))[:1]
        made = _leaf(action, inner, hash_)
    if made is None:
        return None
    wire, fn = made
    if node.kind == "list":
        return pa.list_(wire), _per_item(fn)
    return wire, fn


def _struct(
    event_type: str, path: str, node: Node, policy: Policy, hash_: Hash
) -> tuple[pa.DataType, Transform] | None:
    parts = []
    for name, child in node.children:
        made = _field(event_type, f"{path}.{name}", child, policy, hash_)
        if made is not None:
            parts.append((name, *made))
    if not parts:
        return None
    wire = pa.struct([pa.field(name, kind) for name, kind, _ in parts])

    def apply(values: Any) -> Any:
        children = [fn(values.field(name)) for name, _, fn in parts]
        return pa.StructArray.from_arrays(
            children, names=[name for name, _, _ in parts], mask=values.is_null()
        )

    return wire, apply


def compile_vector(
    event_type: str, schema: JsonSchema, policy: Policy, hash_: Hash
) -> VectorPlan | None:
    """The vector plan of a type, or None when its rows go one by one (a rule with ``when``
    inside a list or an object)."""
    defs: Mapping[str, Any] = schema.get("$defs", {})
    wire: dict[str, pa.DataType] = {}
    columns: list[Column] = []
    try:
        for name, sub in sorted(schema.get("properties", {}).items()):
            node = node_of(sub, defs)
            rules = policy.rules(event_type, name)
            explicit = [r.action for r in rules if not r.when][:1]
            if node.kind == "sealed":
                continue
            if node.kind in ("union", "struct") and explicit == [Action.JSON]:
                columns.append(_as_json(name))
                continue
            if node.kind == "union" and _default(node, policy) is Action.JSON and not rules:
                columns.append(_as_json(name))
                continue
            if any(rule.when for rule in rules) and node.kind not in ("struct", "list"):
                default = _default(node, policy)
                actions = {*(r.action for r in rules), default}
                made = {a: _leaf(a, node, hash_) for a in actions}
                kinds = {m[0] for m in made.values() if m is not None}
                if len(kinds) != 1:
                    raise RowByRow()
                wire[name] = kinds.pop()
                for rule in rules:
                    for field in rule.when:
                        wire.setdefault(field, _condition_type(schema, defs, field))
                kind = _written_type(made, node)
                columns.append(_chosen(name, rules, made, default, kind))
                continue
            made_one = _field(event_type, name, node, policy, hash_)
            if made_one is not None:
                wire[name] = made_one[0]
                columns.append(_plain(name, made_one[1]))
    except RowByRow:
        return None
    return VectorPlan(pa.schema(list(wire.items())), tuple(columns))


def _condition_type(schema: JsonSchema, defs: Mapping[str, Any], field: str) -> pa.DataType:
    node = node_of(schema.get("properties", {}).get(field, {}), defs)
    if node.kind in ("struct", "list", "union", "sealed"):
        raise RowByRow()
    return pa.string() if node.kind in ("date", "datetime") else _ARROW.get(node.kind, pa.string())


def _written_type(
    made: Mapping[Action, tuple[pa.DataType, Transform] | None], node: Node
) -> pa.DataType:
    """The type a conditional column is written in (the wire type cast as its leaf is)."""
    for one in made.values():
        if one is not None:
            probe: Any = one[1](pa.array([], one[0]))
            written: pa.DataType = probe.type
            return written
    return _ARROW.get(node.kind, pa.string())
