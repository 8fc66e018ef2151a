"""The seeded generator of a synthetic subdistrict, from its parts."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator

from faker import Faker
from stdnum.cn import uscc

from wangge.registry.synthetic.common import (
    SIZES,
    CodedPlace,
    Organisation,
    Size,
    Subdistrict,
    Thing,
    mobile,
)
from wangge.registry.synthetic.organisations import (
    _FACILITIES,
    _HAZARDS,
    _ORGANISATION_WEIGHTS,
    _USCC_PREFIXES,
    _organisation_code,
    _organisation_name,
)
from wangge.registry.synthetic.people import _EARLIER_CODES, _Census, _Origin, _pick
from wangge.registry.synthetic.places import (
    _COMMUNITY_NAMES,
    _OCCUPANCY,
    _apportion,
    _Building,
    _building,
    _GridLayout,
    grid_boundaries,
)


class Generator:
    """A seeded synthetic subdistrict: places, census rows, organisations and things."""

    def __init__(
        self,
        *,
        seed: int = 320111001,
        size: Size | str = "small",
        subdistrict_code: str = "320111001",
        subdistrict_name: str = "沿江街道",
    ) -> None:
        if isinstance(size, str):
            if size not in SIZES:
                raise ValueError(f"unknown size {size!r}; presets: {', '.join(SIZES)}")
            size = SIZES[size]
        if not re.fullmatch(r"\d{9}", subdistrict_code):
            raise ValueError(f"a subdistrict code has nine digits, not {subdistrict_code!r}")
        if not 1 <= size.communities <= len(_COMMUNITY_NAMES):
            raise ValueError(f"between 1 and {len(_COMMUNITY_NAMES)} communities")
        if not size.communities <= size.grids <= 999 * size.communities or size.households < 0:
            raise ValueError(f"{size} cannot be laid out")
        self._seed = seed
        self._size = size
        self._subdistrict = self._places(subdistrict_code, subdistrict_name)
        area = subdistrict_code[:6]
        fallbacks = (area[:4] + "00", area[:2] + "0000")  # city and province are always valid
        self._native = _Origin("", (area, *_EARLIER_CODES.get(area, ()), *fallbacks))

    def subdistrict(self) -> Subdistrict:
        """The place tree down to grids."""
        return self._subdistrict

    def residents(self) -> Iterator[dict[str, str]]:
        """Census rows (see ``CENSUS_COLUMNS``), one per person, a household's rows together."""
        rng = self._rng("residents")
        census = _Census(rng, self._faker("residents"), self._native)
        code = self._subdistrict.code
        sequence = 0
        for layout in self._layouts():
            dwellings = [
                (building.number, unit, number)
                for building in layout.buildings
                for unit, number in building.dwellings()
            ]
            for index in sorted(rng.sample(range(len(dwellings)), layout.households)):
                sequence += 1
                building, unit, number = dwellings[index]
                draw = rng.random()
                if draw < 0.03:
                    household_type, members = "collective", census.collective()
                    usage = "business" if rng.random() < 0.7 else "rented"
                elif draw < 0.03 + 0.11:
                    household_type, members = "family", census.floating_family()
                    usage = _pick(rng, (("rented", 85), ("owner_occupied", 11), ("business", 4)))
                else:
                    household_type, members = "family", census.local_family()
                    usage = _pick(rng, (("owner_occupied", 80), ("rented", 17), ("business", 3)))
                census.tag(members, household_type == "collective")
                place = {
                    "grid_code": layout.grid.code,
                    "building_number": building,
                    "unit_number": unit,
                    "dwelling_number": number,
                    "dwelling_usage": usage,
                    "household_number": f"{code}{sequence:06d}",
                    "household_type": household_type,
                }
                yield from census.rows(members, place)

    def organisations(self) -> Iterator[Organisation]:
        """About one organisation per 100 households, each with a valid, unique credit code."""
        rng = self._rng("organisations")
        fake = self._faker("organisations")
        layouts = list(self._layouts())
        total = max(self._size.communities, round(self._size.households / 100))
        weights = [layout.households + 1 for layout in layouts]
        picks = sorted(rng.choices(range(len(layouts)), weights, k=total))
        area = self._subdistrict.code[:6]
        codes: set[str] = set()
        names: set[str] = set()
        for index in picks:
            layout = layouts[index]
            community = layout.community.name
            kind = _pick(rng, _ORGANISATION_WEIGHTS)
            while True:
                body = rng.choice(_USCC_PREFIXES[kind]) + area + _organisation_code(rng)
                code = body + uscc.calc_check_digit(body)
                if code not in codes:
                    codes.add(code)
                    break
            name = _organisation_name(kind, self._subdistrict.name, community, rng, fake, names)
            building = rng.choice(layout.buildings)
            unit = rng.choice(building.units)
            floor, room = (
                rng.randint(1, min(3, building.floors)),
                rng.randint(1, building.per_floor),
            )
            yield Organisation(
                uscc=code,
                name=name,
                kind=kind,
                grid_code=layout.grid.code,
                address=f"{self._subdistrict.name}{community}{building.number}{unit}{floor}{room:02d}室",
                contact_name=fake.name_male() if rng.random() < 0.55 else fake.name_female(),
                contact_phone=mobile(fake),
            )

    def things(self) -> Iterator[Thing]:
        """About one key facility or hazard point per 200 households, some with a responsible."""
        rng = self._rng("things")
        layouts = list(self._layouts())
        by_grid: dict[str, list[str]] = {}
        for organisation in self.organisations():
            by_grid.setdefault(organisation.grid_code, []).append(organisation.uscc)
        total = max(self._size.communities, round(self._size.households / 200))
        weights = [layout.households + 1 for layout in layouts]
        for index in sorted(rng.choices(range(len(layouts)), weights, k=total)):
            layout = layouts[index]
            building = rng.choice(layout.buildings)
            kind = "key_facility" if rng.random() < 0.55 else "hazard_point"
            label, description = rng.choice(_FACILITIES if kind == "key_facility" else _HAZARDS)
            candidates = by_grid.get(layout.grid.code, [])
            responsible = rng.choice(candidates) if candidates and rng.random() < 0.6 else None
            yield Thing(
                kind=kind,
                name=f"{building.number}{label}",
                grid_code=layout.grid.code,
                building_number=building.number,
                responsible_uscc=responsible,
                description=description,
            )

    # -- internals --

    def _rng(self, stream: str) -> random.Random:
        """An independent stream per output, so each can be generated alone and replayed."""
        return random.Random(f"{self._seed}:{self._subdistrict.code}:{stream}")

    def _faker(self, stream: str) -> Faker:
        fake = Faker("zh_CN")
        fake.seed_instance(self._rng(f"{stream}:faker").getrandbits(64))
        return fake

    def _places(self, code: str, name: str) -> Subdistrict:
        size = self._size
        rng = random.Random(f"{self._seed}:{code}:places")
        names = rng.sample(_COMMUNITY_NAMES, size.communities)
        communities = tuple(
            CodedPlace(f"{code}-{i:03d}", f"{names[i - 1]}社区")
            for i in range(1, size.communities + 1)
        )
        per_community = _apportion(size.grids, [1.0] * size.communities)
        numbered = [
            (f"{community.code}-{g:03d}", f"{community.name}第{g}网格")
            for community, count in zip(communities, per_community, strict=True)
            for g in range(1, count + 1)
        ]
        # a stream of its own: the names, codes and every other output stay what they were
        # before grids had boundaries
        outlines = grid_boundaries(
            random.Random(f"{self._seed}:{code}:boundaries"), len(numbered), code
        )
        grids = tuple(
            CodedPlace(grid_code, grid_name, outline)
            for (grid_code, grid_name), outline in zip(numbered, outlines, strict=True)
        )
        return Subdistrict(code, name, communities, grids)

    def _layouts(self) -> Iterator[_GridLayout]:
        """Grids with their households and buildings; building numbers run on within a community."""
        rng = self._rng("layout")
        grids = self._subdistrict.grids
        households = _apportion(self._size.households, [rng.uniform(0.6, 1.4) for _ in grids])
        communities = {community.code: community for community in self._subdistrict.communities}
        next_number: dict[str, int] = {}
        for grid, count in zip(grids, households, strict=True):
            community = communities[grid.code.rsplit("-", 1)[0]]
            number = next_number.get(community.code, 1)
            needed = max(12, math.ceil(count / _OCCUPANCY))
            buildings: list[_Building] = []
            while needed > 0 or not buildings:
                building = _building(rng, number, needed)
                buildings.append(building)
                needed -= building.capacity
                number += 1
            next_number[community.code] = number
            yield _GridLayout(community, grid, count, tuple(buildings))
