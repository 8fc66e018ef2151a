"""The people of a synthetic subdistrict: households and their members, where they come from,
who moved out or died, and the tags grid workers keep, as census rows."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from faker import Faker
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from wangge.registry.synthetic.common import REFERENCE_DATE, TAGS, mobile


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
