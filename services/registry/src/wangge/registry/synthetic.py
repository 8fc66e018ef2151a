"""A synthetic subdistrict: a register shaped like a real 街道, without anyone's real data.

Census data is personal information, so tests, benchmarks and demos load a generated subdistrict
instead. It is deterministic (same seed and size, same rows) so that a failing run can be replayed,
and realistic enough to exercise what real data does: valid GB 11643 identity numbers and GB 32100
credit codes, households living in numbered dwellings, a floating population, people who moved out
or died, and the special-group tags grid workers keep.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from faker import Faker
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

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


# --- places ---------------------------------------------------------------------------------------

# Plausible community names (社区); a subdistrict takes a seeded sample of them.
_COMMUNITY_NAMES = (
    "滨江",
    "江浦",
    "桥北",
    "泰山",
    "顶山",
    "珠江",
    "浦珠",
    "龙华",
    "明发",
    "永宁",
    "汤泉",
    "石佛",
    "新城",
    "江岸",
    "柳州",
    "旭日",
    "天润",
    "高新",
    "临江",
    "望江",
)

_OCCUPANCY = 0.88  # share of dwellings with a household; the rest stay vacant


@dataclass(frozen=True, slots=True)
class _Building:
    number: str  # "12栋"
    units: tuple[str, ...]  # ("1单元", "2单元"), or ("",) for bungalows and shop rows
    floors: int
    per_floor: int

    @property
    def capacity(self) -> int:
        return len(self.units) * self.floors * self.per_floor

    def dwellings(self) -> Iterator[tuple[str, str]]:
        for unit in self.units:
            for floor in range(1, self.floors + 1):
                for room in range(1, self.per_floor + 1):
                    yield unit, f"{floor}{room:02d}"


@dataclass(frozen=True, slots=True)
class _GridLayout:
    community: CodedPlace
    grid: CodedPlace
    households: int
    buildings: tuple[_Building, ...]

    @property
    def capacity(self) -> int:
        return sum(building.capacity for building in self.buildings)


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` by ``weights`` into whole numbers that add up exactly (largest remainder)."""
    scale = total / sum(weights)
    shares = [weight * scale for weight in weights]
    counts = [math.floor(share) for share in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: counts[i] - shares[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _building(rng: random.Random, number: int, needed: int) -> _Building:
    if rng.random() < 0.05:  # a bungalow or a row of shops: no units, one to three floors
        return _Building(f"{number}栋", ("",), rng.randint(1, 3), rng.randint(4, 9))
    units = rng.randint(1, 3)
    per_floor = rng.randint(2, 4)
    floors_needed = math.ceil(needed / (units * per_floor))
    floors = min(rng.randint(6, 18), max(6, floors_needed))
    labels = tuple(f"{unit}单元" for unit in range(1, units + 1))
    return _Building(f"{number}栋", labels, floors, per_floor)


# --- people ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Origin:
    place: str  # where people came from, as written in the register
    codes: tuple[str, ...]  # GB/T 2260 codes, newest first: the first valid in a birth year is used


# Where the floating population comes from: mostly the neighbouring provinces, weighted.
_FLOATING_ORIGINS: tuple[tuple[_Origin, int], ...] = (
    (_Origin("安徽省六安市金安区", ("341502", "342401")), 4),
    (_Origin("安徽省阜阳市颍州区", ("341202", "342101")), 4),
    (_Origin("安徽省宿州市埇桥区", ("341302", "342201")), 3),
    (_Origin("安徽省合肥市长丰县", ("340121",)), 2),
    (_Origin("河南省周口市川汇区", ("411602", "412701")), 3),
    (_Origin("河南省郑州市中原区", ("410102", "410120")), 1),
    (_Origin("河南省南阳市宛城区", ("411302", "412901", "412921")), 1),
    (_Origin("河南省信阳市浉河区", ("411502", "413001")), 2),
    (_Origin("河南省商丘市梁园区", ("411402", "412301")), 2),
    (_Origin("四川省内江市市中区", ("511002", "512401", "512400")), 1),
    (_Origin("江西省南昌市东湖区", ("360102", "360120")), 1),
    (_Origin("山东省临沂市兰山区", ("371302", "372801", "372821")), 1),
    (_Origin("甘肃省兰州市城关区", ("620102", "620120")), 1),
    (_Origin("江苏省宿迁市沭阳县", ("321322", "320823", "322224")), 3),
    (_Origin("江苏省盐城市亭湖区", ("320902", "322326")), 2),
)

# Local households that moved in and transferred their hukou here.
_LOCAL_MOVERS: tuple[tuple[_Origin, int], ...] = (
    (_Origin("江苏省南京市鼓楼区", ("320106", "320120")), 3),
    (_Origin("江苏省南京市秦淮区", ("320104", "320120")), 2),
    (_Origin("江苏省南京市栖霞区", ("320113", "320120")), 2),
    (_Origin("江苏省南京市江宁区", ("320115", "320121")), 2),
    (_Origin("江苏省宿迁市沭阳县", ("321322", "320823", "322224")), 1),
    (_Origin("安徽省六安市金安区", ("341502", "342401")), 1),
)

# Codes a district had before its present one (浦口区 was 江浦县 before 1983).
_EARLIER_CODES = {"320111": ("320122",)}

_WHEREABOUTS = (
    "江苏省苏州市工业园区",
    "广东省深圳市南山区",
    "上海市浦东新区",
    "浙江省杭州市余杭区",
    "北京市海淀区",
    "江苏省无锡市新吴区",
    "广东省广州市天河区",
    "江苏省南京市江宁区",
    "在湖北省武汉市洪山区读大学",
    "在陕西省西安市雁塔区读大学",
    "在英国伦敦留学",
    "在澳大利亚悉尼务工",
)

_MINORITIES = (
    ("回族", 40),
    ("满族", 10),
    ("壮族", 6),
    ("苗族", 6),
    ("土家族", 6),
    ("蒙古族", 5),
    ("彝族", 4),
    ("朝鲜族", 3),
    ("布依族", 2),
)

# Family household compositions and how often each occurs (local households).
_LOCAL_FAMILIES = (
    ("single", 30),
    ("couple", 24),
    ("couple_child", 22),
    ("couple_two_children", 8),
    ("single_parent", 5),
    ("three_generations", 7),
    ("elder_head", 3),
    ("skip_generation", 1.5),
    ("siblings", 2),
)
_FLOATING_FAMILIES = (
    ("single", 38),
    ("couple", 25),
    ("couple_child", 28),
    ("couple_two_children", 9),
)


@lru_cache(maxsize=4096)
def _area_valid(code: str, year: int) -> bool:
    """Whether ``code`` named a county in ``year`` (what ``stdnum.cn.ric.validate`` checks)."""
    body = f"{code}{year}0101001"
    try:
        ric.validate(body + ric.calc_check_digit(body + "0"))
    except (ValidationError, KeyError):  # a code with no county entry raises KeyError
        return False
    return True


def _age(birth: date) -> int:
    return (
        REFERENCE_DATE.year
        - birth.year
        - ((REFERENCE_DATE.month, REFERENCE_DATE.day) < (birth.month, birth.day))
    )


def _adult(birth: date) -> date:
    """The day someone turns 18 (a 29 February birthday counts from 1 March)."""
    try:
        return birth.replace(year=birth.year + 18)
    except ValueError:
        return date(birth.year + 18, 3, 1)


def _pick(rng: random.Random, weighted: Sequence[tuple[str, float]]) -> str:
    return rng.choices([item for item, _ in weighted], [weight for _, weight in weighted])[0]


def _pick_origin(rng: random.Random, weighted: Sequence[tuple[_Origin, int]]) -> _Origin:
    return rng.choices([item for item, _ in weighted], [weight for _, weight in weighted])[0]


def _paternal_surname(parents: Sequence[_Member]) -> str:
    fathers = [parent for parent in parents if parent.male]
    return (fathers or parents)[0].surname


@dataclass(slots=True)
class _Member:
    relationship: str
    birth: date
    male: bool
    origin: _Origin
    surname: str
    ethnicity: str = "汉族"
    hukou: str = "local"
    status: str = "resident"
    moved_in_on: date | None = None
    moved_in_from: str = ""
    moved_out_on: date | None = None
    whereabouts: str = ""
    employer: str | None = None  # fixed by a collective household (a company's dormitory)
    tags: set[str] = field(default_factory=set)

    @property
    def age(self) -> int:
        return _age(self.birth)


class _Census:
    """One pass over the households: owns its random streams and the identity numbers issued."""

    def __init__(self, rng: random.Random, fake: Faker, native: _Origin) -> None:
        self.rng = rng
        self.fake = fake
        self.native = native
        self.issued: set[int] = set()

    # -- building blocks --

    def birth(self, age: int) -> date:
        latest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - age)
        return latest - timedelta(days=self.rng.randint(0, 364))

    def member(
        self, relationship: str, age: int, male: bool, origin: _Origin, surname: str = ""
    ) -> _Member:
        surname = surname or self.fake.last_name()
        return _Member(relationship, self.birth(min(age, 100)), male, origin, surname)

    def spouse_of(self, head: _Member) -> _Member:
        gap = self.rng.randint(-2, 6)  # husbands are usually a few years older
        age = head.age - gap if head.male else head.age + gap
        return self.member("spouse", max(age, 20), not head.male, head.origin)

    def children_of(
        self, parents: Sequence[_Member], count: int, relationship: str = "child"
    ) -> list[_Member]:
        """Children at least 20 years younger than the younger parent, sharing the father's name."""
        youngest = min(parent.age for parent in parents)
        if youngest < 20:
            return []
        surname = _paternal_surname(parents)
        age = youngest - self.rng.randint(20, min(38, youngest))
        children = []
        for _ in range(count):
            if age < 0:
                break
            male = self.rng.random() < 0.51
            children.append(self.member(relationship, age, male, self.native, surname))
            age -= self.rng.randint(1, 8)
        return children

    def parents_of(self, person: _Member, count: int) -> list[_Member]:
        mother_age = person.age + self.rng.randint(22, 35)
        mother = self.member("parent", mother_age, False, person.origin)
        if count == 1 and self.rng.random() < 0.6:
            return [mother]
        father_age = mother_age + self.rng.randint(-1, 5)
        father = self.member("parent", father_age, True, person.origin, person.surname)
        return [father, mother] if count == 2 else [father]

    # -- households --

    def family(self, composition: str, head_ages: tuple[int, int]) -> list[_Member]:
        """Members of a family household, head first, by composition."""
        rng = self.rng
        low, high = head_ages
        if composition == "single":
            age = rng.randint(low, 45) if rng.random() < 0.6 else rng.randint(46, high)
            return [self.member("head", age, rng.random() < 0.5, self.native)]
        if composition == "single_parent":
            head = self.member("head", rng.randint(28, 60), rng.random() < 0.25, self.native)
            return [head, *self.children_of([head], 1)]
        if composition == "siblings":
            head = self.member("head", rng.randint(20, 45), rng.random() < 0.5, self.native)
            sibling_age = max(18, head.age + rng.randint(-8, 8))
            sibling = self.member("sibling", sibling_age, rng.random() < 0.5, self.native)
            sibling.surname = head.surname
            return [head, sibling]
        if composition in {"couple", "couple_child", "couple_two_children", "three_generations"}:
            if composition == "couple":
                age = rng.randint(max(low, 22), high)
            elif composition == "three_generations":
                age = rng.randint(30, 55)
            else:
                age = rng.randint(28, min(high, 70))
            head = self.member("head", age, rng.random() < 0.75, self.native)
            spouse = self.spouse_of(head)
            members = [head, spouse]
            if composition != "couple":
                count = 2 if composition == "couple_two_children" else rng.choice((1, 1, 2))
                members += self.children_of([head, spouse], count)
            if composition == "three_generations":
                members += self.parents_of(head, rng.choice((1, 2)))
            return members
        if composition == "elder_head":  # grandparents head a household of three generations
            head = self.member("head", rng.randint(58, 82), rng.random() < 0.7, self.native)
            grandparents = [head, self.spouse_of(head)] if rng.random() < 0.85 else [head]
            youngest = min(grandparent.age for grandparent in grandparents)
            child_age = youngest - rng.randint(22, min(35, youngest - 22))
            child = self.member("child", child_age, rng.random() < 0.5, self.native)
            child.surname = _paternal_surname(grandparents)
            middle = [child]
            if rng.random() < 0.6:  # the child's spouse: a son- or daughter-in-law
                in_law = self.spouse_of(child)
                in_law.relationship = "other"
                middle.append(in_law)
            grandchildren = self.children_of(middle, rng.choice((1, 1, 2)), "grandchild")
            return [*grandparents, *middle, *grandchildren]
        # skip_generation: the parents work elsewhere, grandparents raise the children (留守儿童)
        grandchild_age = rng.randint(2, 15)
        child_age = grandchild_age + rng.randint(22, 32)
        head = self.member("head", child_age + rng.randint(22, 30), rng.random() < 0.6, self.native)
        grandparents = [head, self.spouse_of(head)] if rng.random() < 0.8 else [head]
        child = self.member("child", child_age, rng.random() < 0.5, self.native)
        child.surname = _paternal_surname(grandparents)
        self.move_out(child)
        grandchildren = []
        for _ in range(rng.choice((1, 1, 2))):
            male = rng.random() < 0.51
            grandchild = self.member("grandchild", grandchild_age, male, self.native, child.surname)
            grandchild.tags.add("left_behind_child")
            grandchildren.append(grandchild)
            grandchild_age = max(0, grandchild_age - rng.randint(1, 5))
        return [*grandparents, child, *grandchildren]

    def move_out(self, member: _Member) -> None:
        earliest = max(_adult(member.birth), REFERENCE_DATE - timedelta(days=10 * 365))
        span = max(0, (REFERENCE_DATE - earliest).days - 30)
        member.status = "moved_out"
        member.moved_out_on = earliest + timedelta(days=self.rng.randint(0, span))
        member.whereabouts = self.rng.choice(_WHEREABOUTS)

    def move_in(self, members: Sequence[_Member], origin: _Origin, years: int) -> None:
        moved = REFERENCE_DATE - timedelta(days=self.rng.randint(30, years * 365))
        for member in members:
            member.moved_in_on = max(moved, member.birth)
            member.moved_in_from = origin.place

    def local_family(self) -> list[_Member]:
        rng = self.rng
        members = self.family(_pick(rng, _LOCAL_FAMILIES), (20, 92))
        if rng.random() < 0.3:  # moved in from elsewhere as adults and brought their hukou
            earliest = max(_adult(members[0].birth), REFERENCE_DATE - timedelta(days=30 * 365))
            span = (REFERENCE_DATE - earliest).days - 180
            if span > 0:
                origin = _pick_origin(rng, _LOCAL_MOVERS)
                moved = earliest + timedelta(days=rng.randint(0, span))
                for member in members:
                    if member.birth <= moved:
                        member.origin = origin
                        member.moved_in_on = moved
                        member.moved_in_from = origin.place
        parents = [member for member in members if member.relationship == "parent"]
        if parents and rng.random() < 0.5:
            # parents from the home town, here to help: their hukou stays where it was
            home = _pick_origin(rng, _FLOATING_ORIGINS)
            moved = REFERENCE_DATE - timedelta(days=rng.randint(30, 8 * 365))
            for parent in parents:
                self.lodge(parent, home, moved)
        for member in members[1:]:
            if member.status != "resident":
                continue
            if member.relationship == "child" and 18 <= member.age <= 40:
                if rng.random() < 0.4:
                    self.move_out(member)
            elif member.age >= 70 and rng.random() < 0.12:
                member.status = "deceased"
        if rng.random() < 0.04 and any(m.age < 6 or m.age >= 75 for m in members):
            nanny = self.member("other", rng.randint(40, 60), False, self.native)
            members.append(nanny)
            self.lodge(nanny, _pick_origin(rng, _FLOATING_ORIGINS))
        if rng.random() < 0.02:  # a nephew or niece who studies or works nearby
            relative = self.member("other", rng.randint(16, 30), rng.random() < 0.5, self.native)
            members.append(relative)
            self.lodge(relative, _pick_origin(rng, _FLOATING_ORIGINS))
        ethnicity = self.ethnicity()
        for member in members:
            if member.relationship != "other" or member.hukou == "local":
                member.ethnicity = ethnicity
        return members

    def lodge(self, member: _Member, origin: _Origin, moved: date | None = None) -> None:
        member.origin = origin
        member.hukou = "non_local"
        member.status = "lodging"
        moved = moved or REFERENCE_DATE - timedelta(days=self.rng.randint(30, 8 * 365))
        member.moved_in_on = max(moved, member.birth)
        member.moved_in_from = origin.place

    def floating_family(self) -> list[_Member]:
        rng = self.rng
        members = self.family(_pick(rng, _FLOATING_FAMILIES), (20, 55))
        origin = _pick_origin(rng, _FLOATING_ORIGINS)
        ethnicity = self.ethnicity()
        for member in members:
            member.origin = origin
            member.hukou = "non_local"
            member.status = "floating"
            member.ethnicity = ethnicity
        self.move_in(members, origin, 10)
        return members

    def collective(self) -> list[_Member]:
        """A company's dormitory: mostly young workers from elsewhere, one of them the head."""
        rng = self.rng
        employer = self.fake.company()
        members = []
        for i in range(rng.randint(4, 10)):
            age = rng.randint(28, 55) if i == 0 else rng.randint(18, 50)
            relationship = "head" if i == 0 else "collective_member"
            member = self.member(relationship, age, rng.random() < 0.65, self.native)
            member.employer = employer
            if rng.random() < 0.9:
                origin = _pick_origin(rng, _FLOATING_ORIGINS)
                member.origin = origin
                member.hukou = "non_local"
                member.status = "floating"
                self.move_in([member], origin, 5)
            members.append(member)
        return members

    def ethnicity(self) -> str:
        return "汉族" if self.rng.random() < 0.955 else _pick(self.rng, _MINORITIES)

    def tag(self, members: Sequence[_Member], collective: bool) -> None:
        """Special-group tags at roughly the rates a subdistrict sees, for people who live here."""
        rng = self.rng
        present = [m for m in members if m.status not in {"moved_out", "deceased"}]
        alone = len(present) == 1 and len(members) == 1 and not collective
        if not collective and rng.random() < 0.008:
            for member in present:
                if member.hukou == "local":
                    member.tags.add("subsistence_allowance")
        for member in present:
            age = member.age
            if rng.random() < (0.04 if age >= 60 else 0.01):
                member.tags.add("disabled")
            if alone and age >= 70:
                member.tags.add("elderly_living_alone")
                if rng.random() < 0.03:
                    member.tags.add("extreme_poverty")
            if member.male and age >= 35 and rng.random() < 0.02:
                member.tags.add("veteran")
            if 18 <= age <= 60 and rng.random() < 0.001:
                member.tags.add("community_correction")
            if age >= 18 and rng.random() < 0.003:
                member.tags.add("severe_mental_disorder")

    # -- rendering --

    def identity_number(self, member: _Member) -> str:
        """A GB 11643 number: area code valid in the birth year, birth date, sequence, check."""
        year = member.birth.year
        area = next((c for c in member.origin.codes if _area_valid(c, year)), None)
        if area is None:
            area = next(
                (c for c in self.native.codes if _area_valid(c, year)), self.native.codes[0]
            )
        prefix = f"{area}{member.birth:%Y%m%d}"
        parity = 1 if member.male else 0
        while True:
            sequence = self.rng.randrange(100) * 10 + self.rng.randrange(parity, 10, 2)
            body = f"{prefix}{sequence:03d}"
            key = int(body)
            if sequence and key not in self.issued:
                self.issued.add(key)
                return body + ric.calc_check_digit(body + "0")

    def work(self, member: _Member) -> tuple[str, str]:
        age = member.age
        if member.status == "deceased" or age < 16:
            return "", ""
        if member.employer is not None:
            return self.fake.job(), member.employer
        rng = self.rng
        if (age < 23 and rng.random() < 0.7) or age >= 60 or rng.random() < 0.1:
            return "", ""  # in school, retired, or not working
        employer = self.fake.company() if rng.random() < 0.8 else ""
        return self.fake.job(), employer

    def rows(self, members: Sequence[_Member], place: dict[str, str]) -> Iterator[dict[str, str]]:
        """A household's rows; nobody shares a name with someone else in the household."""
        taken: set[str] = set()
        for member in members:
            for _ in range(10):
                name = member.surname + self.first_name(member.male)
                if name not in taken:
                    break
            taken.add(name)
            yield self.row(member, name, place)

    def first_name(self, male: bool) -> str:
        return self.fake.first_name_male() if male else self.fake.first_name_female()

    def row(self, member: _Member, name: str, place: dict[str, str]) -> dict[str, str]:
        fake = self.fake
        phone = mobile(fake) if member.age >= 14 and member.status != "deceased" else ""
        occupation, employer = self.work(member)
        return {
            **place,
            "relationship": member.relationship,
            "name": name,
            "identity_number": self.identity_number(member),
            "phone": phone,
            "ethnicity": member.ethnicity,
            "hukou_type": member.hukou,
            "residence_status": member.status,
            "occupation": occupation,
            "employer": employer,
            "moved_in_on": member.moved_in_on.isoformat() if member.moved_in_on else "",
            "moved_in_from": member.moved_in_from,
            "moved_out_on": member.moved_out_on.isoformat() if member.moved_out_on else "",
            "whereabouts": member.whereabouts,
            "tags": ";".join(tag for tag in TAGS if tag in member.tags),
        }


# --- organisations and things ---------------------------------------------------------------------

# GB 32100 registration authority + category: 1x 机构编制, 5x 民政, 9x 市场监管
_USCC_PREFIXES = {
    "enterprise": ("91",),
    "individual_business": ("92",),
    "social_organisation": ("51", "52"),
    "public_institution": ("12",),
}
_ORGANISATION_WEIGHTS = (
    ("enterprise", 45),
    ("individual_business", 35),
    ("social_organisation", 10),
    ("public_institution", 10),
)
_ORG_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100's alphabet (no I, O, S, V, Z)
_SHOPS = ("面馆", "便利店", "五金店", "理发店", "水果店", "早餐店", "干洗店", "药店", "包子铺")
_SOCIAL = ("老年人协会", "志愿者服务队", "文体协会", "居家养老服务中心", "邻里互助会")
_PUBLIC = ("小学", "幼儿园", "社区卫生服务站", "文化活动中心", "中学")

_ORDINALS = ("", "第二", "第三", "第四", "第五", "第六", "第七", "第八", "第九", "第十")

_FACILITIES = (
    ("配电房", "高压设备由物业管理并每月巡查"),
    ("地下车库", "车辆密集且汛期需关注排水"),
    ("燃气调压站", "燃气公司负责维护并在周边禁止明火"),
    ("电动自行车集中充电棚", "夜间集中充电并配有灭火器和监控"),
    ("消防控制室", "24小时值班并定期检查联动设备"),
    ("二次供水泵房", "涉及居民饮水安全并按季度清洗水箱"),
)
_HAZARDS = (
    ("楼道堆物", "楼道内堆放杂物堵塞疏散通道"),
    ("飞线充电", "从楼上私拉电线为电动车充电"),
    ("外墙空鼓", "外墙瓷砖空鼓存在坠落风险"),
    ("消防通道占用", "私家车长期占用消防通道"),
    ("雨季积水点", "暴雨时路面积水超过二十厘米"),
    ("老旧燃气管道", "管道锈蚀已报燃气公司排查"),
)


def _organisation_code(rng: random.Random) -> str:
    """A GB 11714 organisation code (8 characters and a check character), as inside a USCC."""
    if rng.random() < 0.6:  # registered since 2015: 江苏 codes start "MA"
        body = "MA" + "".join(rng.choice(_ORG_CODE_CHARS) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(char, 36) * weight for char, weight in zip(body, weights, strict=True))
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


def _organisation_name(
    kind: str, subdistrict: str, community: str, rng: random.Random, fake: Faker, taken: set[str]
) -> str:
    """A name not taken yet, as names are unique within a registration area (best effort)."""
    name = ""
    for _ in range(50):
        if kind == "enterprise":
            name = fake.company()
        elif kind == "individual_business":
            name = f"{subdistrict.removesuffix('街道')}{fake.last_name()}记{rng.choice(_SHOPS)}"
        else:  # 滨江小学, then 滨江第二小学
            social = kind == "social_organisation"
            template = rng.choice(_SOCIAL if social else _PUBLIC)
            prefix = f"{subdistrict}{community}" if social else community.removesuffix("社区")
            names = (f"{prefix}{ordinal}{template}" for ordinal in _ORDINALS)
            name = next((candidate for candidate in names if candidate not in taken), name)
        if name not in taken:
            break
    taken.add(name)
    return name


# --- the generator --------------------------------------------------------------------------------


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
        grids = tuple(
            CodedPlace(f"{community.code}-{g:03d}", f"{community.name}第{g}网格")
            for community, count in zip(communities, per_community, strict=True)
            for g in range(1, count + 1)
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
