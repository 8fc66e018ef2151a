"""What every part of the synthetic subdistrict shares: its sizes, the shapes of the things it
makes, the day its ages count from, and the writers of its rows."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from faker import Faker

from wangge.registry.census import COLUMNS

# Ages and dates are counted from this day, not from today, so that output never drifts.
REFERENCE_DATE = date(2026, 11, 27)

CENSUS_COLUMNS = COLUMNS

# Faker's zh_CN numbers include 14x data-only and other prefixes no citizen would give; these
# are the voice prefixes of the three carriers, which phone validation accepts.
_MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]


def mobile(fake: Faker) -> str:
    """A mainland mobile number that phone validation accepts."""
    return fake.random_element(_MOBILE_PREFIXES) + fake.numerify("########")


RELATIONSHIPS = (
    "head",
    "spouse",
    "child",
    "parent",
    "grandchild",
    "sibling",
    "other",
    "collective_member",
)
RESIDENCE_STATUSES = ("resident", "floating", "lodging", "moved_out", "deceased")
TAGS = (
    "disabled",
    "elderly_living_alone",
    "subsistence_allowance",
    "extreme_poverty",
    "veteran",
    "community_correction",
    "severe_mental_disorder",
    "left_behind_child",
)
ORGANISATION_KINDS = (
    "enterprise",
    "social_organisation",
    "public_institution",
    "individual_business",
)
THING_KINDS = ("key_facility", "hazard_point")


@dataclass(frozen=True, slots=True)
class Size:
    """How big a subdistrict to generate: a preset or a custom shape."""

    communities: int
    grids: int
    households: int


SIZES: dict[str, Size] = {
    "tiny": Size(2, 4, 60),
    "small": Size(3, 12, 600),
    "full": Size(8, 169, 40_000),
}


@dataclass(frozen=True, slots=True)
class CodedPlace:
    """A community or grid: the code extends its parent's (``320111001-003-004``)."""

    code: str
    name: str
    boundary: tuple[tuple[float, float], ...] | None = None
    """A grid's exterior ring, (longitude, latitude) in WGS 84, counter-clockwise and closed;
    a tuple, not GeoJSON, so that the place stays hashable like the rest of the tree."""

    def geojson(self) -> dict[str, Any] | None:
        """The boundary as a GeoJSON Polygon (RFC 7946), as the register takes it."""
        if self.boundary is None:
            return None
        return {"type": "Polygon", "coordinates": [[list(point) for point in self.boundary]]}


@dataclass(frozen=True, slots=True)
class Subdistrict:
    """The place tree down to grids, which every other record points into."""

    code: str
    name: str
    communities: tuple[CodedPlace, ...]
    grids: tuple[CodedPlace, ...]


@dataclass(frozen=True, slots=True)
class Organisation:
    """An organisation (组织) registered in a grid, found by its unified social credit code."""

    uscc: str
    name: str
    kind: str
    grid_code: str
    address: str
    contact_name: str
    contact_phone: str


@dataclass(frozen=True, slots=True)
class Thing:
    """A thing (物) grid workers watch: a key facility or a hazard point at a building."""

    kind: str
    name: str
    grid_code: str
    building_number: str
    responsible_uscc: str | None
    description: str


def write_csv(rows: Iterable[Mapping[str, str]], path: Path) -> int:
    """Write census rows as the spreadsheet an import expects; return how many were written."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=CENSUS_COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def write_jsonl(rows: Iterable[Mapping[str, str]], path: Path) -> int:
    """Write census rows one JSON object a line (streamable); return how many were written."""
    count = 0
    with path.open("w", encoding="utf-8") as file:
        for row in rows:
            file.write(json.dumps(dict(row), ensure_ascii=False))
            file.write("\n")
            count += 1
    return count
