"""Address text normalised for matching (地址标准化): one spelling per address.

Census sheets, the 12345 hotline and grid workers write the same door many ways: full-width
digits, ``12幢`` or ``12号楼`` for ``12栋``, ``1201室`` for ``1201``, stray spaces and dashes.
Matching compares the normalised form, so these all find the same dwelling.
"""

from __future__ import annotations

import re
import unicodedata

_BUILDING = re.compile(r"(\d+)(?:号楼|幢|座|栋|号栋)")
_UNIT = re.compile(r"(\d+)(?:单元)")
_ROOM = re.compile(r"(\d+)(?:室|号房|房)")
_NOISE = re.compile(r"[\s,、.。·\-—_/#()]+")  # after NFKC: full-width forms are ASCII


def normalise_address(text: str) -> str:
    """The matching form of an address: NFKC, one word per level, no spaces or punctuation."""
    value = unicodedata.normalize("NFKC", text).strip()
    value = _BUILDING.sub(r"\1栋", value)
    value = _UNIT.sub(r"\1单元", value)
    value = _ROOM.sub(r"\1", value)
    return _NOISE.sub("", value)


def place_address(kind: str, name: str, number: str | None, parent_address: str | None) -> str:
    """A place's postal address from its parent's, the way the register writes it.

    Subdistricts and communities are their names; a grid is not part of an address (a building
    keeps its address when it is re-gridded inside its community), so it carries its parent's;
    a building, unit or dwelling adds its number to its parent's (``滨江社区`` + ``1栋`` + ``1单元``
    + ``101``). The registry and every copy of its place tree build addresses with this.
    """
    if kind in ("subdistrict", "community"):
        return name
    if kind == "grid":
        return parent_address if parent_address is not None else name
    return f"{parent_address or ''}{number or name}"


_UP_TO_BUILDING = re.compile(r"^.*?\d+栋")
_UP_TO_NUMBER = re.compile(r"^.*?\d+号")


def building_of(text: str) -> str | None:
    """An address cut to its building (``…12栋``), else to its street number (``…18号``); None
    when it has neither. Many households share a building: what an analyst may see of where a
    ticket came from, while the unit and the room would point at one home."""
    value = normalise_address(text)
    found = _UP_TO_BUILDING.match(value) or _UP_TO_NUMBER.match(value)
    return found.group(0) if found else None
