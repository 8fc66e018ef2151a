"""Instances of the frozen dataclasses every record of a replay makes, made without their
``__init__``.

A frozen dataclass's ``__init__`` sets each field through ``object.__setattr__`` (its own
``__setattr__`` refuses): for an envelope's thirteen fields that was most of the time spent
making it, and a replay makes an envelope, its event, the event as read and the sourced record
for every record it reads (a twelfth of a views rebuild). A maker sets a slotted class's
fields straight through their slots, from values given positionally, all of them (no defaults
are filled in); the instance is the one ``__init__`` would make.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def maker(cls: type[T]) -> Callable[..., T]:
    """A function making ``cls`` from every field's value, in the fields' order.

    Only for slotted dataclasses with no ``__post_init__`` (what ``__init__`` would then run is
    not run here): others are refused.
    """
    if not dataclasses.is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} has a __post_init__ a maker would not run")
    names = [field.name for field in dataclasses.fields(cls) if field.init]
    if len(names) != len(dataclasses.fields(cls)):
        raise TypeError(f"{cls.__name__} has fields its __init__ does not set")
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = [f"def make({', '.join(names)}):", "    made = new(cls)"]
    for index, name in enumerate(names):
        # the slot's own descriptor: what object.__setattr__ would find and call
        scope[f"set_{index}"] = getattr(cls, name).__set__
        lines.append(f"    set_{index}(made, {name})")
    lines.append("    return made")
    exec("\n".join(lines), scope)  # noqa: S102 - source made above from the class's field names
    make: Callable[..., T] = scope["make"]
    make.__qualname__ = f"maker({cls.__qualname__})"
    return make
