"""Nothing leaks: after the synthetic subdistrict and the whole flow, the raw bytes of every
topic, every service's event table, every table of the views' database (their rows, the audit of
feed reads, the closed days), the pages a department's feed answered and every process's log
hold none of the residents', callers', outside parties' and contacts' names, identity numbers or
phone numbers, in any form a reader could turn back into them (bare, ``+86``, ``86``, spaced or
dashed, JSON-escaped). After the erasures the views show the erased resident as erased.

Names are found in runs of Chinese characters, numbers in runs of digits joined across single
separators, so a number written ``138 1234 5678`` or inside ``+8613812345678`` is found too. A
name that also occurs in the subdistrict's public text (a place, an organisation's name or
address) cannot be told from it and is left out of the search; the test says how many.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from stdnum.cn import uscc
from system_flow import eventually, settled, unpublished

from wangge.registry.synthetic import Generator
from wangge.views.personal_data import ERASED

from system_clients import CHINA, Hotline, ticket
from system_support import Process, System

pytestmark = pytest.mark.system

SEED = 320111001
SIZE = "small"
SERVICES = ("registry", "hotline_bridge", "cases", "training")
"""The producers: each seals what it must not publish."""
PUBLISHERS = (*SERVICES, "views")
"""Every service with an event table and a topic: the views' own events are the audit of feed
reads (``FeedRead``) and the clock (``DayClosed``)."""

_CJK = re.compile(r"[\u3400-\u9fff]+")
_DIGITS = re.compile(r"\d+(?:[ \-]\d+)*[Xx]?")
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass
class Needles:
    """What must not be found, by what it is (for the failure's message)."""

    names: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, str] = field(default_factory=dict)

    def name(self, value: str, what: str) -> None:
        if len(value) >= 2:
            self.names[value] = what

    def phone(self, value: str, what: str) -> None:
        national = value.removeprefix("+86")
        self.numbers[national] = what

    def identity(self, value: str, what: str) -> None:
        self.numbers[value.upper()] = what

    def leave_out(self, public: Iterable[str]) -> int:
        """Leave out names that occur in public text; how many."""
        corpus = "\n".join(public)
        dropped = [name for name in self.names if name in corpus]
        for name in dropped:
            del self.names[name]
        return len(dropped)


def readable(raw: bytes) -> str:
    """Bytes as a reader would read them: UTF-8, with JSON's ``\\uXXXX`` escapes undone."""
    text = raw.decode("utf-8", "replace")
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def found(needles: Needles, text: str) -> Iterator[str]:
    """Every needle in ``text``, as ``what: value``."""
    lengths = sorted({len(n) for n in needles.names})
    for run in _CJK.findall(text):
        for size in lengths:
            for start in range(len(run) - size + 1):
                piece = run[start : start + size]
                if piece in needles.names:
                    yield f"{needles.names[piece]}: {piece}"
    for run in _DIGITS.findall(text):
        digits = re.sub(r"[^\dX]", "", run.upper())  # an identity number may end in X
        for size in (11, 15, 18):
            for start in range(len(digits) - size + 1):
                piece = digits[start : start + size]
                if piece in needles.numbers:
                    yield f"{needles.numbers[piece]}: {piece}"


def test_the_scan_finds_every_form() -> None:
    needles = Needles()
    needles.name("欧阳明辉", "caller")
    needles.phone("+8613912345678", "caller")
    needles.identity("32011119900101123x", "resident")
    for text in (
        '{"name": "\\u6b27\\u9633\\u660e\\u8f89"}',
        "来电人欧阳明辉反映",
        "+8613912345678",
        "139 1234 5678",
        "139-1234-5678",
        "861391234567800",
        "身份证32011119900101123X",
    ):
        assert list(found(needles, readable(text.encode()))), text
    for text in ("欧阳**", "139****5678", "320111********123X", "欧阳"):
        assert not list(found(needles, text)), text


@dataclass
class Flow:
    """What the flow wrote, to find afterwards."""

    needles: Needles
    ids: dict[str, str]


def _uscc(body: str) -> str:
    return body + uscc.calc_check_digit(body)


def _phone(serial: int) -> str:
    return f"139{serial:08d}"


async def _json(
    system: System, method: str, url: str, headers: Mapping[str, str], **body: Any
) -> Any:
    answer = await system.http.request(
        method,
        url,
        headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        json=body or None,
    )
    assert answer.status_code < 300, (method, url, answer.status_code, answer.text)
    return answer.json()


async def _whole_flow(
    system: System, registry: Process, hotline: Process, cases: Process, generator: Generator
) -> Flow:
    needles = Needles()
    residents = list(generator.residents())
    for row in residents:
        needles.name(row["name"], "resident's name")
        needles.identity(row["identity_number"], "resident's identity number")
        if row["phone"]:
            needles.phone(row["phone"], "resident's phone")
    organisations = list(generator.organisations())
    for org in organisations:
        needles.name(org.contact_name, "organisation contact's name")
        needles.phone(org.contact_phone, "organisation contact's phone")
    subdistrict = generator.subdistrict()
    admin = system.headers("subdistrict_admin", places=[subdistrict.code], subject="admin-pii")
    ids: dict[str, str] = {}

    # a seeded resident, their dwelling and grid
    page = await _json(system, "GET", f"{registry.url}/persons?size=5", admin)
    person = page["items"][0]
    ids["resident"] = person["person_id"]
    today = datetime.now(CHINA).date()
    where = f"{registry.url}/places/{person['dwelling_id']}/grid?on={today}"
    grid_id = (await _json(system, "GET", where, admin))["grid_id"]
    ids["grid"] = grid_id

    # the registry: a visit whose note names a phone, an organisation with a contact
    visit_phone, contact_phone = _phone(1), _phone(2)
    needles.phone(visit_phone, "phone in a visit note")
    needles.name("公孙立新", "organisation contact's name")
    needles.phone(contact_phone, "organisation contact's phone")
    visit = await _json(
        system, "POST", f"{registry.url}/visits", admin,
        dwelling_id=person["dwelling_id"], visited_at=datetime.now(UTC).isoformat(),
        note=f"老人说儿子电话{visit_phone}，每周回来一次",
    )  # fmt: skip
    org = await _json(
        system, "POST", f"{registry.url}/organisations", admin,
        uscc=_uscc("91320111MA1MXYWT0"), name="滨江便民超市有限公司", kind="enterprise",
        place_id=grid_id, contact_name="公孙立新", contact_phone=contact_phone,
    )  # fmt: skip
    ids["visit"] = visit["visit_id"]
    ids["organisation"] = org["organisation_id"]
    ids["contact"] = org["contact_id"]

    # the hotline: callers whose content repeats their phone and an identity number
    line = Hotline(system, hotline)
    address = organisations[0].address
    for serial in range(3):
        name, phone = f"欧阳{'明辉晓东'[serial : serial + 2]}", _phone(10 + serial)
        number = "320111199001011234"
        needles.name(name, "caller's name")
        needles.phone(phone, "caller's phone")
        needles.identity(number, "identity number in a ticket")
        pushed = await line.push(
            ticket(
                caller={"name": name, "phone": phone},
                content=f"我是{name}，电话{phone[:3]} {phone[3:7]} {phone[7:]}，"
                f"身份证{number}，楼道堆物请处理",
                address=address,
            )
        )
        assert pushed.status_code == 201, pushed.text
        ids[f"ticket{serial}"] = pushed.json()["ticket_id"]
    ids["caller_phone_1"] = _phone(11)

    # the cases service: a dispute with an outside party, a session, a care plan's visit
    outsider, outsider_phone, case_phone = "司马云飞", _phone(20), _phone(21)
    needles.name(outsider, "outside party's name")
    needles.phone(outsider_phone, "outside party's phone")
    needles.phone(case_phone, "phone in a case's text")
    code = (await _json(system, "GET", f"{registry.url}/places/{grid_id}", admin))["code"]
    worker = system.headers("grid_worker", places=[code], subject=f"worker-{code}")
    opened: list[Any] = []

    async def assigned() -> bool:
        # the cases service learns the grid's worker from the registry's topic: until then a
        # new case belongs to nobody, and only its worker may accept it
        case = await _json(
            system, "POST", f"{cases.url}/cases", admin,
            kind="dispute", source="walk_in", title="邻里漏水纠纷", grid_id=grid_id,
            description=f"楼上漏水，联系人电话+86 {case_phone}",
        )  # fmt: skip
        opened.append(case)
        return bool(case["account"] == f"worker-{code}")

    assert await eventually(assigned, seconds=60), "the grid's worker never reached the cases"
    case = opened[-1]
    case_id = case["case_id"]
    ids["case"] = case_id
    resident_party = await _json(
        system, "POST", f"{cases.url}/cases/{case_id}/parties", admin,
        role="applicant", resident=person["person_id"],
    )  # fmt: skip
    outside_party = await _json(
        system, "POST", f"{cases.url}/cases/{case_id}/parties", admin,
        role="respondent", outside={"name": outsider, "phone": outsider_phone},
    )  # fmt: skip
    ids["outside_party"] = outside_party["party_id"]
    parties = [resident_party["party_id"], outside_party["party_id"]]
    await _json(system, "POST", f"{cases.url}/cases/{case_id}/accept", worker)
    await _json(system, "POST", f"{cases.url}/cases/{case_id}/mediators", admin, mediator="调解员")
    await _json(
        system, "POST", f"{cases.url}/cases/{case_id}/sessions", admin,
        held_at=datetime.now(UTC).isoformat(), place="社区调解室", attendees=parties,
        mediators=["调解员"], summary=f"{outsider}同意维修，电话{case_phone}", signed_by=parties,
    )  # fmt: skip
    plan = await _json(
        system, "POST", f"{cases.url}/care-plans", admin,
        resident=person["person_id"], grid_id=grid_id, kind="health_check", every_days=7,
        starts_on=today.isoformat(), note=f"女儿电话{case_phone}",
    )  # fmt: skip
    ids["plan"] = plan["plan_id"]
    await _json(
        system, "POST", f"{cases.url}/care-plans/{plan['plan_id']}/visits", admin,
        visited_on=today.isoformat(), note=f"血压偏高，已告知{case_phone}",
        measurements={"systolic": 152, "diastolic": 96},
    )  # fmt: skip

    public = [subdistrict.name, *(c.name for c in subdistrict.communities)]
    public += [g.name for g in subdistrict.grids]
    public += [o.name for o in organisations] + [o.address for o in organisations]
    public += [t.name + t.description for t in generator.things()]
    public += [r["employer"] + r["moved_in_from"] + r["whereabouts"] for r in residents]
    dropped = needles.leave_out(public)
    print(f"{len(needles.names)} names and {len(needles.numbers)} numbers looked for")
    print(f"{dropped} names left out: they occur in the subdistrict's public text")
    return Flow(needles, ids)


async def _all_published(system: System) -> None:
    for service in PUBLISHERS:

        async def left_over(service: str = service) -> set[str]:
            return await unpublished(system, service)

        left = await settled(left_over)
        assert not left, f"{service}: {len(left)} events never reached the topic"


async def _haystacks(system: System) -> dict[str, str]:
    """Every event table, topic and log, and every table of the views' database (which holds
    only masked values and pseudonymous ids), read as a reader would."""
    stacks: dict[str, str] = {}
    for service in PUBLISHERS:
        rows = await system.sql(service, "SELECT e::text AS row FROM events AS e")
        stacks[f"{service} event table"] = "\n".join(readable(r["row"].encode()) for r in rows)
        records = await system.topic_records(service)
        stacks[f"{service} topic"] = "\n".join(readable(r.raw) for r in records)
    tables = await system.sql(
        "views",
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name <> 'events'",
    )
    for table in tables:
        name = table["table_name"]
        rows = await system.sql("views", f'SELECT t::text AS row FROM "{name}" AS t')
        stacks[f"views table {name}"] = "\n".join(readable(r["row"].encode()) for r in rows)
    for log in _logs(system.folder):
        stacks[f"log {log.name}"] = readable(log.read_bytes())
    return stacks


def _logs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.log"))


def _leaks(needles: Needles, stacks: Mapping[str, str]) -> list[str]:
    leaks = []
    for where, text in stacks.items():
        seen = sorted(set(found(needles, text)))
        leaks += [f"{where}: {what}" for what in seen]
    return leaks


async def test_no_personal_data_in_clear_on_any_topic_event_table_or_log(system: System) -> None:
    registry, hotline, cases, training, views = await asyncio.gather(
        system.start_service("registry", args=["--seed", SIZE]),
        system.start_service("hotline_bridge"),
        system.start_service("cases"),
        system.start_service("training", env={"WANGGE_SEED": "year"}),
        system.start_service("views"),
    )
    generator = Generator(seed=SEED, size=SIZE)
    flow = await _whole_flow(system, registry, hotline, cases, generator)
    pages = await _civil_affairs_reads_its_feed(system, views)
    await _all_published(system)
    stacks = await _haystacks(system)
    stacks["civil affairs feed pages"] = readable(pages.encode())
    views_rows = sum(len(s) for k, s in stacks.items() if k.startswith("views table"))
    assert views_rows > 100_000, views_rows  # the views' rows of the subdistrict were read
    assert sum(len(s) for s in stacks.values()) > 1_000_000  # the scan had something to read
    leaks = _leaks(flow.needles, stacks)
    assert not leaks, f"{len(leaks)} personal data in clear:\n" + "\n".join(leaks[:60])
    del training
    await _erase_and_check(system, registry, hotline, cases, flow)
    await _views_show_the_resident_erased(system, views, flow)


async def _civil_affairs_reads_its_feed(system: System, views: Process) -> str:
    """The civil affairs department (民政) reads its feed once the views have the seeded
    residents' tags, so that the audit of its reads (``FeedRead``) is there to be scanned too;
    the pages it was sent, as text."""
    civil = system.headers("department:civil_affairs", subject="minzheng")
    pages: list[str] = []

    async def read() -> bool:
        answer = await system.http.get(f"{views.url}/feeds/civil_affairs", headers=civil)
        if answer.status_code == 503:
            return False
        assert answer.status_code == 200, answer.text
        pages.append(answer.text)
        return bool(answer.json()["entries"])

    assert await eventually(read, seconds=120), "the civil affairs feed stayed empty"
    audited = [e for e in await system.events("views") if e.type.endswith(".FeedRead")]
    assert len(audited) >= len(pages), (len(audited), len(pages))
    return "\n".join(pages)


async def _views_show_the_resident_erased(system: System, views: Process, flow: Flow) -> None:
    """The views' picture of the erased resident shows every personal field as erased."""
    admin = system.headers("subdistrict_admin", places=["320111001"], subject="admin-views")
    url = f"{views.url}/residents/{flow.ids['resident']}"
    picture: dict[str, Any] = {}

    async def erased() -> bool:
        answer = await system.http.get(url, headers=admin)
        if answer.status_code == 200:
            picture.update(answer.json())
        return bool(picture.get("erased"))

    assert await eventually(erased, seconds=60), f"the views never showed the erasure: {picture}"
    shown = {k: picture[k] for k in ("name_masked", "identity_masked", "phone_masked")}
    assert shown["name_masked"] == ERASED, shown
    assert set(shown.values()) <= {ERASED, None}, shown


def sealed_blocks(value: Any) -> Iterator[dict[str, str]]:
    """Every sealed block (``{"key", "nonce", "ciphertext"}``) inside an event's data."""
    if isinstance(value, dict):
        if {"key", "nonce", "ciphertext"} <= value.keys():
            yield value
        for inner in value.values():
            yield from sealed_blocks(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from sealed_blocks(inner)


async def _unopenable(system: System, service: str, subjects: set[str]) -> dict[str, str]:
    """For each of ``subjects`` that seals a block in the service's events: whether its data key
    is gone (``"erased"``), still there (``"opens"``) or was never kept (``"no key"``)."""
    keyed = {
        block["key"]
        for event in await system.events(service)
        for block in sealed_blocks(event.data)
        if block["key"] in subjects
    }
    tables = await system.sql(
        service,
        "SELECT c.table_name, k.column_name FROM information_schema.columns AS c "
        "JOIN information_schema.key_column_usage AS k USING (table_schema, table_name) "
        "WHERE c.column_name = 'wrapped' AND c.table_schema = current_schema()",
    )
    state: dict[str, str] = {}
    for subject in keyed:
        rows = []
        for table in tables:
            rows += await system.sql(
                service,
                f'SELECT wrapped IS NULL AS erased FROM "{table["table_name"]}" '
                f'WHERE "{table["column_name"]}" = $1::uuid',
                subject,
            )
        if not rows:
            state[subject] = "no key"
        else:
            state[subject] = "erased" if all(r["erased"] for r in rows) else "opens"
    return state


async def _erase_and_check(
    system: System, registry: Process, hotline: Process, cases: Process, flow: Flow
) -> None:
    """Erase a resident, two callers, an outside party and a contact; then none of their
    sealed blocks opens in any service (the cases service follows the registry's erasure)."""
    ids = flow.ids
    admin = system.headers("subdistrict_admin", places=["320111001"], subject="admin-erasure")
    hotline_system = system.headers("hotline_system", subject="hotline-12345")
    ground = {"legal_ground": "consent_withdrawn"}
    await _json(
        system, "DELETE", f"{registry.url}/persons/{ids['resident']}/personal-data", admin,
        **ground,
    )  # fmt: skip
    await _json(
        system, "DELETE", f"{registry.url}/organisations/{ids['organisation']}/contacts/"
        f"{ids['contact']}", admin, **ground,
    )  # fmt: skip
    await _json(
        system, "DELETE", f"{hotline.url}/tickets/{ids['ticket0']}/caller", hotline_system,
        **ground,
    )  # fmt: skip
    by_phone = await _json(
        system, "POST", f"{hotline.url}/callers/erasure", hotline_system,
        phone=ids["caller_phone_1"], **ground,
    )  # fmt: skip
    assert by_phone["ticket_ids"] == [ids["ticket1"]], by_phone
    await _json(
        system, "DELETE",
        f"{cases.url}/cases/{ids['case']}/parties/{ids['outside_party']}/personal-data",
        admin, **ground,
    )  # fmt: skip

    expected = {
        "registry": {ids["resident"], ids["visit"], ids["contact"]},
        "hotline_bridge": {ids["ticket0"], ids["ticket1"]},
        "cases": {ids["plan"], ids["case"], ids["outside_party"]},
    }

    async def everything_erased() -> bool:
        for service, subjects in expected.items():
            state = await _unopenable(system, service, subjects)
            if state != dict.fromkeys(subjects, "erased"):
                print(service, state)
                return False
        return True

    assert await eventually(everything_erased, seconds=60), "a sealed block still opens"
    untouched = await _unopenable(system, "hotline_bridge", {ids["ticket2"]})
    assert untouched == {ids["ticket2"]: "opens"}  # erasing a caller touched no one else
