"""``/visits`` and ``/needs``: door-to-door visits (走访) and the needs noted on them.

A visit's note and needs are shown as written only to staff reading one visit, while the
visit's key lives; lists show their redacted copies, as does a visit whose key a household
member's erasure destroyed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import AwareDatetime, BaseModel, Field

from wangge.events.sealing import Sealed
from wangge.governance.errors import DomainError, NotFound
from wangge.registry.api.access import Staff, in_scope
from wangge.registry.api.bounds import Moment, Page, Size
from wangge.registry.api.deps import Core, Keys, ReadConnection, tables
from wangge.registry.api.people import place_in_scope, visible_person
from wangge.registry.domain.free_text import opened_text
from wangge.registry.domain.visits import Document, NeedCategory
from wangge.registry.handlers import visits as handlers
from wangge.registry.personal_data import KeyRing
from wangge.registry.projections import people_queries
from wangge.registry.projections.activity import Activity, needs_page, visits_page
from wangge.registry.projections.views import Views
from wangge.service.auth import Principal
from wangge.service.commands import Command

router = APIRouter(tags=["visits"])


class NeedCreate(BaseModel):
    """A need noted at the door."""

    category: NeedCategory
    description: str = Field(min_length=1, max_length=2000)
    person_id: uuid.UUID | None = Field(default=None, description="whose need, if one person's")


class VisitCreate(BaseModel):
    """What a grid worker checked and found on a visit."""

    dwelling_id: uuid.UUID
    household_id: uuid.UUID | None = None
    visited_at: AwareDatetime
    documents_checked: list[Document] = Field(default_factory=list, max_length=10)
    persons_confirmed: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    persons_added: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    persons_corrected: list[uuid.UUID] = Field(default_factory=list, max_length=100)
    note: str | None = Field(default=None, max_length=2000)
    needs: list[NeedCreate] = Field(default_factory=list, max_length=20)


class NeedRead(BaseModel):
    """A noted need."""

    need_id: uuid.UUID
    visit_id: uuid.UUID
    dwelling_id: uuid.UUID
    household_id: uuid.UUID | None
    person_id: uuid.UUID | None
    category: str
    description: str = Field(description="as written, or its redacted copy (see below)")
    description_redacted: bool = Field(
        default=True,
        description="whether `description` is the redacted copy (in lists, after erasure)",
    )
    noted_at: datetime


class VisitRead(BaseModel):
    """A recorded visit."""

    visit_id: uuid.UUID
    worker_account: str
    dwelling_id: uuid.UUID
    household_id: uuid.UUID | None
    visited_at: datetime
    documents: list[str]
    persons_seen: int
    note: str | None = Field(description="as written, or its redacted copy (see below)")
    note_redacted: bool = Field(
        default=True, description="whether `note` is the redacted copy (in lists, after erasure)"
    )
    address: str
    needs: list[NeedRead]


class VisitPage(BaseModel):
    """One page of visits."""

    items: list[VisitRead]
    total: int
    page: int
    size: int


class NeedPage(BaseModel):
    """One page of needs."""

    items: list[NeedRead]
    total: int
    page: int
    size: int


async def _visits(
    conn: ReadConnection, core: Core, principal: Principal, *, keys: KeyRing | None = None,
    visit_id: uuid.UUID | None = None, dwelling_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None, since: datetime | None = None, page: int = 1,
    size: int = 1,
) -> tuple[list[VisitRead], int]:  # fmt: skip
    """A page of visits, their free text opened with ``keys`` if given (one visit's read)."""
    activity = await tables(conn, core, Activity.name)
    views = await Views.of(conn, core)
    rows, needs, total = await visits_page(
        conn, activity, views.places, within=principal.places, visit_id=visit_id,
        dwelling_id=dwelling_id, household_id=household_id, since=since, page=page, size=size,
    )  # fmt: skip
    opener = await _Opener.of(conn, keys, [r.visit_id for r in rows])
    by_visit: dict[uuid.UUID, list[NeedRead]] = {}
    for need in needs:
        read = NeedRead.model_validate(need, from_attributes=True)
        full = opener.text(need.visit_id, need.description_sealed)
        if full is not None:
            read.description, read.description_redacted = full, False
        by_visit.setdefault(need.visit_id, []).append(read)
    items = []
    for r in rows:
        item = VisitRead(
            **{k: getattr(r, k) for k in ("visit_id", "worker_account", "dwelling_id",
                                         "household_id", "visited_at", "persons_seen", "note",
                                         "address")},
            documents=[d for d in r.documents.split(",") if d],
            needs=by_visit.get(r.visit_id, []),
        )  # fmt: skip
        full = opener.text(r.visit_id, r.note_sealed)
        if full is not None:
            item.note, item.note_redacted = full, False
        items.append(item)
    return items, total


class _Opener:
    """Opens visits' sealed text with their keys (none: every text stays its redacted copy)."""

    def __init__(self, ring: KeyRing | None, keys: dict[uuid.UUID, bytes]) -> None:
        self.ring = ring
        self.keys = keys

    @classmethod
    async def of(
        cls, conn: ReadConnection, ring: KeyRing | None, visit_ids: list[uuid.UUID]
    ) -> _Opener:
        """An opener of these visits' text (their keys read in one query)."""
        if ring is None:
            return cls(None, {})
        return cls(ring, await ring.visits.keys(conn, visit_ids))

    def text(self, visit_id: uuid.UUID, sealed: str | None) -> str | None:
        """The text as written; None when it stays redacted (no key, or nothing sealed)."""
        key = self.keys.get(visit_id)
        if self.ring is None or key is None or sealed is None:
            return None
        block = self.ring.visits.unseal(key, Sealed.model_validate_json(sealed))
        return opened_text(block)


@router.post(
    "/visits", status_code=status.HTTP_201_CREATED, response_model=VisitRead, tags=["visits"]
)
async def record_visit(
    body: VisitCreate, principal: Staff, command: Command, keys: Keys, conn: ReadConnection,
    core: Core, response: Response,
) -> VisitRead:  # fmt: skip
    """Record a visit to a dwelling in the caller's places; each need noted is an event.

    The note and needs are sealed under a key of the visit; their redacted copies (phone and
    identity numbers, plates, e-mail addresses masked) are what lists and other services see.

    A `household_id` outside the caller's places is a 404, the same as one nobody registered.
    """
    views = await Views.of(conn, core)
    await place_in_scope(
        conn, views, principal, body.dwelling_id, field="dwelling_id", what="dwelling"
    )
    if body.household_id is not None:
        household = await people_queries.household(
            conn, views.people, views.places, body.household_id
        )
        if not in_scope(principal, household.scope if household is not None else None):
            # one answer for a household nobody registered and one outside the caller's
            # places: "lives at another dwelling" would tell that it exists elsewhere
            raise NotFound(f"no household {body.household_id}", field="household_id")
    for field in ("persons_confirmed", "persons_added", "persons_corrected"):
        for index, person_id in enumerate(getattr(body, field)):
            try:
                await visible_person(conn, views, principal, person_id)
            except NotFound:
                raise DomainError(
                    f"no person {person_id} in the caller's places", field=f"{field}/{index}"
                ) from None
    result = await handlers.record_visit(
        command.commands, keys, handlers.RecordVisit(**body.model_dump())
    )
    visit_id = uuid.UUID(result.stream_id.removeprefix("visit-"))
    response.headers["Location"] = f"/visits/{visit_id}"
    await conn.rollback()  # a snapshot that sees the command's commit
    items, _ = await _visits(conn, core, principal, keys=keys, visit_id=visit_id)
    return items[0]


@router.get("/visits", response_model=VisitPage)
async def list_visits(
    principal: Staff,
    conn: ReadConnection,
    core: Core,
    dwelling_id: uuid.UUID | None = None,
    household_id: uuid.UUID | None = None,
    since: Moment | None = None,
    page: Page = 1,
    size: Size = 50,
) -> VisitPage:
    """Visits in the caller's places, newest first; notes and needs as their redacted copies."""
    items, total = await _visits(
        conn, core, principal, dwelling_id=dwelling_id, household_id=household_id, since=since,
        page=page, size=size,
    )  # fmt: skip
    return VisitPage(items=items, total=total, page=page, size=size)


@router.get("/visits/{visit_id}", response_model=VisitRead)
async def read_visit(
    visit_id: uuid.UUID, principal: Staff, keys: Keys, conn: ReadConnection, core: Core
) -> VisitRead:
    """One visit with its needs, the note and needs as written while the visit's key lives
    (their redacted copies once a household member's erasure destroyed it)."""
    items, _ = await _visits(conn, core, principal, keys=keys, visit_id=visit_id)
    if not items:
        raise NotFound(f"no visit {visit_id}")
    return items[0]


@router.get("/needs", response_model=NeedPage, tags=["visits"])
async def list_needs(
    principal: Staff,
    conn: ReadConnection,
    core: Core,
    category: NeedCategory | None = None,
    since: Moment | None = None,
    page: Page = 1,
    size: Size = 50,
) -> NeedPage:
    """Needs noted on visits in the caller's places, newest first (redacted copies)."""
    activity = await tables(conn, core, Activity.name)
    places = (await Views.of(conn, core)).places
    rows, total = await needs_page(
        conn, activity, places, within=principal.places,
        category=category.value if category is not None else None, since=since, page=page,
        size=size,
    )  # fmt: skip
    items = [NeedRead.model_validate(r, from_attributes=True) for r in rows]
    return NeedPage(items=items, total=total, page=page, size=size)
