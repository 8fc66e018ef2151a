"""Census import (``wangge registry import``): door-to-door census sheets into the register.

A census file has one row per person (columns: :data:`COLUMNS`, CSV with a header or JSON Lines),
the rows of a household together, its head first. Every row is validated; good rows become
events, bad rows go to a reject file with their reasons. Buildings, units, dwellings and
households are created the first time a row names them; grids must exist already (they are
drawn by the subdistrict, not by a census).

Re-running a file is safe: a person whose identity number is registered is skipped (the keyed
hash index says so), and places and households are found again by their numbers.

Rows are written in batches, one transaction each: one statement appends the events of every
stream of the batch, data keys and identity hashes are inserted in bulk, and the inline read
models are updated in the same transaction.
"""

from __future__ import annotations

import csv
import gc
import json
import uuid
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events import DomainEvent, Metadata
from wangge.events.db import insert_many
from wangge.events.projection import active_tables, apply_inline
from wangge.events.store import StreamAppend
from wangge.governance.errors import DomainError
from wangge.registry.bootstrap import RegistryCore
from wangge.registry.domain import households, persons, places
from wangge.registry.domain.households import HouseholdType, Relationship
from wangge.registry.domain.identity import normalise_phone, parse_identity_number
from wangge.registry.domain.persons import (
    KNOWN_TAGS,
    HukouType,
    PersonalDetails,
    ResidenceStatus,
)
from wangge.registry.domain.places import DwellingUsage, PlaceKind
from wangge.registry.personal_data import person_identities
from wangge.registry.projections.people import People
from wangge.registry.projections.places import PlaceTree

COLUMNS: tuple[str, ...] = (
    "grid_code", "building_number", "unit_number", "dwelling_number", "dwelling_usage",
    "household_number", "household_type", "relationship", "name", "identity_number", "phone",
    "ethnicity", "hukou_type", "residence_status", "occupation", "employer",
    "moved_in_on", "moved_in_from", "moved_out_on", "whereabouts", "tags",
)  # fmt: skip
"""The census columns, in file order (``tags``: semicolon-separated)."""

REQUIRED = (
    "grid_code", "building_number", "dwelling_number", "household_number", "household_type",
    "relationship", "name", "identity_number", "hukou_type", "residence_status",
)  # fmt: skip


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported, and why."""

    line: int
    row: dict[str, str]
    reasons: list[str]


@dataclass
class Report:
    """What an import did."""

    rows: int = 0
    imported: int = 0
    skipped: int = 0
    rejected: int = 0
    events: int = 0
    households: int = 0
    places: int = 0


def read_rows(
    path: Path, grids: Collection[str] | None = None
) -> Iterator[tuple[int, dict[str, str]]]:
    """The rows of a census file with their line numbers (CSV or JSON Lines, by suffix); only
    those of ``grids`` when given (a parallel importer skips the others before building them)."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                if line.strip():
                    value = json.loads(line)
                    row = {k: "" if v is None else str(v) for k, v in value.items()}
                    if grids is None or row.get("grid_code", "").strip() in grids:
                        yield number, row
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        records = csv.reader(handle)
        header = next(records, [])
        at = header.index("grid_code") if "grid_code" in header else None
        for number, values in enumerate(records, 2):
            if not values:
                continue  # a blank line, as DictReader skips it
            if grids is not None and (
                (values[at] if at is not None and at < len(values) else "").strip() not in grids
            ):
                continue
            row = dict(zip(header, values, strict=False))
            for name in header[len(values) :]:
                row[name] = ""  # a short row, as DictReader fills it
            yield number, row


class RejectWriter:
    """The reject file: the bad rows as they came, plus the line and the reasons."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.DictWriter(
            self._handle, fieldnames=["line", "reasons", *COLUMNS], extrasaction="ignore"
        )
        self._writer.writeheader()

    def write(self, rejected: Rejected) -> None:
        """Record one rejected row."""
        self._writer.writerow(
            {**rejected.row, "line": rejected.line, "reasons": "; ".join(rejected.reasons)}
        )

    def close(self) -> None:
        """Flush and close the file."""
        self._handle.close()


@dataclass(frozen=True)
class Resident:
    """A validated census row."""

    line: int
    grid_id: uuid.UUID
    building: str
    unit: str | None
    dwelling: str
    usage: DwellingUsage
    household_number: str
    household_type: HouseholdType
    relationship: Relationship
    identity_hash: str
    details: PersonalDetails
    identity: Any
    hukou: HukouType
    status: ResidenceStatus
    moved_in_on: date | None
    moved_in_from: str | None
    moved_out_on: date | None
    whereabouts: str | None
    tags: tuple[str, ...]


def _date(value: str, column: str, reasons: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        reasons.append(f"{column}: not a date (YYYY-MM-DD)")
        return None


def _choice(enum: Any, value: str, column: str, reasons: list[str]) -> Any:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        reasons.append(f"{column}: {value!r} is none of {choices}")
        return None


@dataclass
class _Household:
    household_id: uuid.UUID
    version: int
    type: HouseholdType
    members: set[uuid.UUID] = field(default_factory=set)


class CensusImport:
    """One import run: caches of what the register holds, and the batches it writes."""

    def __init__(
        self, registry: RegistryCore, *, census_date: date, actor: str = "census-import"
    ) -> None:
        self.registry = registry
        self.store = registry.store
        self.keyring = registry.keyring
        self.projections = list(registry.projections)
        self.census_date = census_date
        self.metadata = Metadata(actor=actor)
        self.report = Report()
        self._grids: dict[str, uuid.UUID] = {}
        self._children: dict[tuple[uuid.UUID, str], uuid.UUID] = {}
        self._households: dict[str, _Household] = {}
        self._identities: set[str] = set()
        self._undo: list[Callable[[], object]] = []
        """How to take back what the current batch planned, should it not be written."""

    async def load(self) -> None:
        """Read what the register already holds: grids, places, households, identities."""
        async with self.store.engine.connect() as conn:
            pl = (await active_tables(conn, self.registry.projection(PlaceTree.name)))["places"]
            for row in await conn.execute(
                sa.select(pl.c.place_id, pl.c.kind, pl.c.code, pl.c.number, pl.c.parent_id)
            ):
                if row.kind == PlaceKind.GRID.value:
                    self._grids[row.code] = row.place_id
                elif row.number is not None and row.parent_id is not None:
                    self._children[(row.parent_id, row.number)] = row.place_id
            t = await active_tables(conn, self.registry.projection(People.name))
            h, m = t["households"], t["memberships"]
            for house in await conn.execute(
                sa.select(h.c.household_id, h.c.number, h.c.version, h.c.type)
            ):
                self._households[house.number] = _Household(
                    house.household_id, house.version, HouseholdType(house.type)
                )
            by_id = {v.household_id: v for v in self._households.values()}
            for member in await conn.execute(
                sa.select(m.c.household_id, m.c.person_id).where(m.c.valid_to.is_(None))
            ):
                if member.household_id in by_id:
                    by_id[member.household_id].members.add(member.person_id)
            self._identities = set(await conn.scalars(sa.select(person_identities.c.identity_hash)))

    def grid_id(self, code: str) -> uuid.UUID | None:
        """The id of the grid with this code, if the register has it."""
        return self._grids.get(code)

    def child_id(self, parent: uuid.UUID, number: str) -> uuid.UUID | None:
        """The id of the building, unit or dwelling ``number`` under ``parent``, if known."""
        return self._children.get((parent, number))

    def validate(self, line: int, row: dict[str, str]) -> Resident | Rejected:
        """A resident, or the row with every reason it cannot be imported."""
        row = {k: (row.get(k) or "").strip() for k in COLUMNS}
        reasons = [f"{c}: required" for c in REQUIRED if not row[c]]
        grid_id = self._grids.get(row["grid_code"])
        if row["grid_code"] and grid_id is None:
            reasons.append(f"grid_code: no grid {row['grid_code']} in the register")
        usage = _choice(
            DwellingUsage, row["dwelling_usage"] or "owner_occupied", "dwelling_usage", reasons
        )
        # an empty column is reported as required above, not again as no choice
        kind, relationship, hukou, status = (
            _choice(enum, row[column], column, reasons) if row[column] else None
            for enum, column in (
                (HouseholdType, "household_type"),
                (Relationship, "relationship"),
                (HukouType, "hukou_type"),
                (ResidenceStatus, "residence_status"),
            )
        )
        identity = None
        if row["identity_number"]:
            try:
                identity = parse_identity_number(row["identity_number"], today=self.census_date)
            except DomainError as error:
                reasons.append(f"identity_number: {error.detail}")
        phone = None
        if row["phone"]:
            try:
                phone = normalise_phone(row["phone"])
            except DomainError as error:
                reasons.append(f"phone: {error.detail}")
        moved_in_on = _date(row["moved_in_on"], "moved_in_on", reasons)
        moved_out_on = _date(row["moved_out_on"], "moved_out_on", reasons)
        tags = tuple(t for t in (x.strip() for x in row["tags"].split(";")) if t)
        for tag in tags:
            if tag not in KNOWN_TAGS:
                reasons.append(f"tags: unknown tag {tag!r}")
        if status == ResidenceStatus.MOVED_OUT and moved_out_on is None:
            reasons.append("moved_out_on: required for a person who moved out")
        member = relationship not in (None, Relationship.HEAD)
        collective_member = relationship == Relationship.COLLECTIVE_MEMBER
        if kind and member and (kind == HouseholdType.COLLECTIVE) != collective_member:
            reasons.append("relationship: collective households have collective members only")
        if relationship == Relationship.HEAD and status in (
            ResidenceStatus.MOVED_OUT,
            ResidenceStatus.DECEASED,
        ):
            reasons.append("residence_status: a household's head lives in it")
        if usage == DwellingUsage.VACANT:
            reasons.append("dwelling_usage: a vacant dwelling has no residents")
        if reasons or identity is None:
            return Rejected(line, row, reasons or ["identity_number: required"])
        assert grid_id is not None and kind is not None and relationship is not None
        assert hukou is not None and status is not None
        details = PersonalDetails(
            name=row["name"], identity_number=identity.number, birth_date=identity.birth_date,
            phone=phone, ethnicity=row["ethnicity"] or None, occupation=row["occupation"] or None,
            employer=row["employer"] or None,
        )  # fmt: skip
        return Resident(
            line=line, grid_id=grid_id, building=row["building_number"],
            unit=row["unit_number"] or None, dwelling=row["dwelling_number"], usage=usage,
            household_number=row["household_number"], household_type=kind,
            relationship=relationship, identity_hash=self.keyring.identity_hash(identity.number),
            details=details, identity=identity, hukou=hukou, status=status,
            moved_in_on=moved_in_on, moved_in_from=row["moved_in_from"] or None,
            moved_out_on=moved_out_on, whereabouts=row["whereabouts"] or None, tags=tags,
        )  # fmt: skip

    async def run(
        self,
        rows: Iterable[tuple[int, dict[str, str]]],
        *,
        batch_size: int = 500,
        on_reject: Callable[[Rejected], None] = lambda r: None,
        on_progress: Callable[[int], None] = lambda n: None,
    ) -> Report:
        """Import every row; returns the report."""
        with _long_lived_caches():
            batch: list[tuple[int, dict[str, str]]] = []
            for item in rows:
                batch.append(item)
                if len(batch) >= batch_size:
                    await self._batch(batch, on_reject)
                    on_progress(len(batch))
                    batch = []
                    gc.freeze()
            if batch:
                await self._batch(batch, on_reject)
                on_progress(len(batch))
        return self.report

    async def _batch(
        self,
        rows: list[tuple[int, dict[str, str]]],
        on_reject: Callable[[Rejected], None],
        *,
        retry: bool = False,
    ) -> None:
        writes = _Writes()
        report_before = replace(self.report)
        rejected: list[Rejected] = []
        self._undo = []
        try:
            for line, row in rows:
                self.report.rows += 1
                checked = self.validate(line, row)
                if isinstance(checked, Rejected):
                    rejected.append(checked)
                    continue
                if checked.identity_hash in self._identities:
                    self.report.skipped += 1  # registered already (a re-run, or a duplicate row)
                    continue
                problem = self._plan(checked, writes)
                if problem is not None:
                    rejected.append(Rejected(line, row, [problem]))
                    continue
                self._identities.add(checked.identity_hash)
                self._undo.append(partial(self._identities.discard, checked.identity_hash))
                self.report.imported += 1
            await self._write(writes)
            for item in rejected:
                self._reject(item, on_reject)
        except sa.exc.IntegrityError:
            # another importer (a parallel worker, a registration through the API) took an
            # identity number of this batch: plan it again, now knowing every registered hash
            if retry:
                raise
            self._take_back()
            async with self.store.engine.connect() as conn:
                self._identities = set(
                    await conn.scalars(sa.select(person_identities.c.identity_hash))
                )
            self.report = report_before
            await self._batch(rows, on_reject, retry=True)
        except BaseException:
            # nothing of the batch was written: forget what it planned, so a retry starts clean
            self._take_back()
            self.report = report_before
            raise

    def _take_back(self) -> None:
        """Forget what a batch that was not written planned (in reverse, as it was planned)."""
        while self._undo:
            self._undo.pop()()

    def _reject(self, rejected: Rejected, on_reject: Callable[[Rejected], None]) -> None:
        self.report.rejected += 1
        on_reject(rejected)

    def _place(
        self, writes: _Writes, parent: uuid.UUID, kind: PlaceKind, number: str,
        usage: DwellingUsage | None = None,
    ) -> uuid.UUID:  # fmt: skip
        key = (parent, number)
        found = self._children.get(key)
        if found is not None:
            return found
        place_id = uuid.uuid4()
        writes.add(
            places.stream_id(place_id), 0,
            [places.PlaceRegistered(place_id=place_id, kind=kind, name=number, number=number,
                                    parent_id=parent, usage=usage)],
        )  # fmt: skip
        self._children[key] = place_id
        self._undo.append(partial(self._children.pop, key, None))
        self.report.places += 1
        return place_id

    def _plan(self, r: Resident, writes: _Writes) -> str | None:
        household = self._households.get(r.household_number)
        joining = r.status not in (ResidenceStatus.MOVED_OUT, ResidenceStatus.DECEASED)
        if household is None and r.relationship != Relationship.HEAD:
            return (
                "household_number: the household's head comes first "
                "(its row was missing or rejected)"
            )
        if household is not None and r.relationship == Relationship.HEAD:
            return "relationship: the household has a head already"
        if household is not None and household.type != r.household_type:
            return f"household_type: household {r.household_number} is {household.type}"
        building = self._place(writes, r.grid_id, PlaceKind.BUILDING, r.building)
        parent = (
            building if r.unit is None else self._place(writes, building, PlaceKind.UNIT, r.unit)
        )
        dwelling = self._place(writes, parent, PlaceKind.DWELLING, r.dwelling, r.usage)
        person_id = uuid.uuid4()
        key = self.keyring.generate()
        seal = self.keyring.sealer(key, person_id)
        registered_status = r.status
        if r.status in (ResidenceStatus.MOVED_OUT, ResidenceStatus.DECEASED):
            registered_status = (
                ResidenceStatus.RESIDENT if r.hukou == HukouType.LOCAL else ResidenceStatus.FLOATING
            )
        since = r.moved_in_on or self.census_date
        events: list[DomainEvent] = persons.register(
            person_id=person_id, identity=r.identity, details=r.details, hukou_type=r.hukou,
            residence_status=registered_status, seal=seal,
        )  # fmt: skip
        events.append(
            persons.PersonMovedIn(
                person_id=person_id, dwelling_id=dwelling, on=since,
                origin=seal({"origin": r.moved_in_from}) if r.moved_in_from else None,
            )
        )  # fmt: skip
        events += [
            persons.PersonTagged(person_id=person_id, tag=tag, source="census",
                                 valid_from=self.census_date)
            for tag in r.tags
        ]  # fmt: skip
        if r.status == ResidenceStatus.MOVED_OUT:
            assert r.moved_out_on is not None
            events.append(
                persons.PersonMovedOut(
                    person_id=person_id, dwelling_id=dwelling, on=r.moved_out_on,
                    whereabouts=seal({"whereabouts": r.whereabouts}) if r.whereabouts else None,
                )
            )  # fmt: skip
        elif r.status == ResidenceStatus.DECEASED:
            events.append(
                persons.PersonResidenceStatusChanged(
                    person_id=person_id, residence_status=ResidenceStatus.DECEASED,
                    on=self.census_date,
                )
            )  # fmt: skip
        writes.add(persons.stream_id(person_id), 0, events)
        writes.keys.append((person_id, key))
        writes.identities.append((r.identity_hash, person_id))
        if household is None:
            household = _Household(uuid.uuid4(), 0, r.household_type)
            self._households[r.household_number] = household
            self._undo.append(partial(self._households.pop, r.household_number, None))
            writes.add(
                households.stream_id(household.household_id), 0,
                households.register(
                    household_id=household.household_id, number=r.household_number,
                    type=r.household_type, dwelling_id=dwelling, head_person_id=person_id,
                    on=since,
                ),
            )  # fmt: skip
            household.version = 2
            household.members.add(person_id)
            self.report.households += 1
        elif joining:
            self._undo.append(_restore(household))
            writes.add(
                households.stream_id(household.household_id), household.version,
                [households.HouseholdMemberJoined(
                    household_id=household.household_id, person_id=person_id,
                    relationship=r.relationship, on=since,
                )],
            )  # fmt: skip
            household.version += 1
            household.members.add(person_id)
        return None

    async def _write(self, writes: _Writes) -> None:
        if not writes.streams:
            return
        appends = [StreamAppend(s, events, first) for s, (first, events) in writes.streams.items()]
        async with self.store.begin() as conn:
            results = await self.store.append_batch(
                appends, connection=conn, metadata=self.metadata
            )
            await self._keep(conn, writes)
            recorded = []
            for append, result in zip(appends, results, strict=True):
                recorded += self.store.recorded(append.events, result, self.metadata)
            heads = {a.stream_id: a.expected_version for a in appends}
            for projection in self.projections:
                await apply_inline(projection, conn, recorded, heads=heads)
        self.report.events += len(recorded)

    async def _keep(self, conn: AsyncConnection, writes: _Writes) -> None:
        await self.keyring.keep_many(conn, writes.keys)
        await insert_many(
            conn,
            person_identities,
            [{"identity_hash": h, "person_id": p} for h, p in writes.identities],
        )


def _restore(household: _Household) -> Callable[[], None]:
    """Undo for a join: the household's version and members as they are now."""
    version, members = household.version, set(household.members)

    def undo() -> None:
        household.version, household.members = version, members

    return undo


@contextmanager
def _long_lived_caches() -> Iterator[None]:
    """Keep the cyclic garbage collector off what an import keeps for its whole run.

    The caches of places, households and identities grow by a batch's worth each batch, and
    every full collection walked all of them again: a third of an import's time went to it.
    After each batch :func:`gc.freeze` sets what survived aside (a batch's garbage is freed by
    reference counting, it makes no cycles), and rarer older collections do the rest.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(thresholds[0], 20, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@dataclass
class _Writes:
    """The events of one batch, grouped by stream, with the keys and hashes to store."""

    streams: dict[str, tuple[int, list[DomainEvent]]] = field(default_factory=dict)
    keys: list[tuple[uuid.UUID, bytes]] = field(default_factory=list)
    identities: list[tuple[str, uuid.UUID]] = field(default_factory=list)

    def add(self, stream_id: str, version: int, events: list[DomainEvent]) -> None:
        """Events for a stream, which was at ``version`` before the batch's first of them."""
        if stream_id in self.streams:
            self.streams[stream_id][1].extend(events)
        else:
            self.streams[stream_id] = (version, list(events))


def share_grids(path: Path, workers: int) -> list[frozenset[str]]:
    """The grid codes each of ``workers`` importers takes, about as many rows each.

    By grid, so a household stays with one importer; by count, largest grid first to the
    least loaded, because an importer left alone at the end runs on one core (a hash of the
    code left one worker a tenth of the file longer).
    """
    counts: Counter[str] = Counter(row.get("grid_code", "").strip() for _, row in read_rows(path))
    shares: list[set[str]] = [set() for _ in range(workers)]
    loads = [0] * workers
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        least = loads.index(min(loads))
        shares[least].add(code)
        loads[least] += count
    return [frozenset(share) for share in shares]


@dataclass(frozen=True)
class Part:
    """One worker's share of a census file."""

    path: Path
    rejects: Path
    census_date: date
    batch_size: int
    grids: frozenset[str]


def _warm() -> None:
    """Import what an importer process needs (done while the parent shares the file out)."""
    import wangge.registry.bootstrap
    import wangge.registry.config  # noqa: F401


def import_part(part: Part) -> Report:
    """Import the rows of one worker's grids (run in a process of its own)."""
    import asyncio

    from wangge.registry.bootstrap import registry
    from wangge.registry.config import RegistrySettings

    async def main() -> Report:
        writer = RejectWriter(part.rejects)
        try:
            async with registry(RegistrySettings()) as core:
                importer = CensusImport(core, census_date=part.census_date)
                await importer.load()
                rows = read_rows(part.path, part.grids)
                return await importer.run(rows, batch_size=part.batch_size, on_reject=writer.write)
        finally:
            writer.close()

    return asyncio.run(main())


def import_parallel(
    path: Path, rejects: Path, *, census_date: date, batch_size: int, workers: int
) -> Report:
    """Import a census file with ``workers`` processes, each taking whole grids."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")  # no inherited event loop or connections
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        # the workers start (and import the registry, a second or two) while the file is shared
        warming = [pool.submit(_warm) for _ in range(workers)]
        parts = [
            Part(path, rejects.with_name(f"{rejects.name}.{i}"), census_date, batch_size, grids)
            for i, grids in enumerate(share_grids(path, workers))
        ]
        for started in warming:
            started.result()
        reports = list(pool.map(import_part, parts))
    total = Report()
    for report in reports:
        for name in ("rows", "imported", "skipped", "rejected", "events", "households", "places"):
            setattr(total, name, getattr(total, name) + getattr(report, name))
    merged: list[dict[str, str]] = []
    for part in parts:
        with part.rejects.open(encoding="utf-8", newline="") as handle:
            merged += list(csv.DictReader(handle))
        part.rejects.unlink()
    writer = RejectWriter(rejects)
    for row in sorted(merged, key=lambda r: int(r["line"])):
        reasons = row.pop("reasons").split("; ")
        writer.write(Rejected(int(row.pop("line")), row, reasons))
    writer.close()
    return total
