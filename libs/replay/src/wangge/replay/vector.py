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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from wangge.governance.addresses import building_of
from wangge.replay.plan import _ARROW, Hash, JsonSchema, Node, _default, _possible, node_of
from wangge.replay.policy import Action, Policy

Transform = Callable[[Any], Any]
"""An Arrow array (of a column, a list's items, a struct's field) to the one written."""


class RowByRow(Exception):
    """A type whose policy needs each row's other fields (or JSON text): the slow way."""


class NotItsType(pa.ArrowInvalid):
    """A value outside its enumeration: the block is validated row by row."""


@dataclass(frozen=True)
class VectorPlan:
    """How a type's data columns are made from its JSON a column at a time."""

    wire: pa.Schema
    """the kept fields as Arrow parses them (dates and times as text)"""
    columns: tuple[tuple[str, Transform], ...]

    def parse(self, lines: list[bytes]) -> pa.Table:
        """The kept fields of each line (a JSON object per event); ``pa.ArrowInvalid`` if a
        value is not of its field's type."""
        options = pj.ParseOptions(explicit_schema=self.wire, unexpected_field_behavior="ignore")
        read = pj.ReadOptions(block_size=1 << 24)
        return pj.read_json(io.BytesIO(b"\n".join(lines)), read_options=read, parse_options=options)

    def arrays(self, parsed: pa.Table) -> list[Any]:
        """The written columns, in the plan's order."""
        return [fn(parsed.column(name).combine_chunks()) for name, fn in self.columns]


def mapped(fn: Callable[[str], Any], kind: pa.DataType) -> Transform:
    """Apply ``fn`` once per distinct value of a text column (nulls stay null)."""

    def apply(values: Any) -> Any:
        if len(values) == 0:
            return pa.array([], type=kind)
        encoded = values.dictionary_encode()
        dictionary = pa.array([fn(str(v)) for v in encoded.dictionary.to_pylist()], type=kind)
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
    """The vector plan of a type, or None when its rows go one by one."""
    defs: Mapping[str, Any] = schema.get("$defs", {})
    wire = []
    columns = []
    try:
        for name, sub in sorted(schema.get("properties", {}).items()):
            made = _field(event_type, name, node_of(sub, defs), policy, hash_)
            if made is not None:
                wire.append(pa.field(name, made[0]))
                columns.append((name, made[1]))
    except RowByRow:
        return None
    return VectorPlan(pa.schema(wire), tuple(columns))
