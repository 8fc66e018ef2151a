"""Reading a department's feed: a page of entries after a cursor, each placed in its grid
through the roster and shown erased once its person or subject was, and the page's ``ETag``
(the feeds' rows and how they are written are in ``projections/feeds.py``)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.events.projection import active_generation
from wangge.governance import roster
from wangge.views.domain.feeds import BadCursor, Cursor, decode_cursor
from wangge.views.personal_data import shown
from wangge.views.projections.feeds import MAX_LIMIT, Feeds
from wangge.views.projections.roster import placed


class FeedEntry(BaseModel):
    """One fact in a department's feed, minimised: ids, masked name, places, dates."""

    cursor: str = Field(description="send as after to read what came after this entry")
    fact: str = Field(description="what happened: person_tagged, care_visit_missed, ...")
    person: str | None = Field(description="the person's pseudonymous id")
    name: str | None = Field(description="the masked name (李**); [已删除] once erased")
    subject: str | None = Field(description="the care plan, case, ticket or hazard's id")
    grid: str | None = Field(description="the grid's code, where the roster knows it")
    community: str | None = Field(description="the community's code, where the roster knows it")
    detail: str | None = Field(
        description="what routes or qualifies the fact: the tag, the care plan's kind, the "
        "ticket's category, the hazard's risk level, the new residence status, the agreement"
    )
    on: date | None = Field(description="the fact's date: valid from, moved on, signed on...")
    until: date | None = Field(
        description="its second date: a tag's end, a missed period's last day, the 司法确认 "
        "deadline, the ticket's deadline"
    )
    recorded_at: datetime = Field(description="when the producer recorded the event")


class FeedPage(BaseModel):
    """A page of a department's feed."""

    department: str
    entries: list[FeedEntry]
    next: str = Field(description="the cursor to send as after next time (the same when empty)")
    more: bool = Field(description="more entries follow already")


class Paged(NamedTuple):
    """A page, its ``ETag`` (a digest of what it says) and the cursor it was read after."""

    page: FeedPage
    etag: str


async def feed_page(
    conn: AsyncConnection,
    feeds: Feeds,
    roster_tables: roster.Tables,
    *,
    department: str,
    after: str | None,
    limit: int,
) -> Paged:
    """The entries of ``department``'s feed after the cursor ``after`` (from the start when
    None), at most ``limit``; ``LookupError`` while the feeds have not started.

    Every cursor a page of this feed hands out names position 0 or an entry of this feed, so
    the page is read from the entry the cursor names, which must be there: a cursor of another
    department's feed, or past the last entry, would otherwise be taken as a place in this one
    and skip its entries (the client never told), so it is a 422 like any cursor not made here.
    """
    generation = await active_generation(conn, feeds.name)
    if not generation:
        raise LookupError(f"projection {feeds.name} has not started")
    tables = feeds.tables(generation)
    position = decode_cursor(after, generation=generation) if after is not None else 0
    entries, erased = tables["entries"], tables["erased"]
    person_erased = erased.alias("person_erased")
    subject_erased = erased.alias("subject_erased")
    rows = (
        await conn.execute(
            sa.select(entries, person_erased.c.subject.label("person_gone"),
                      subject_erased.c.subject.label("subject_gone"))
            .outerjoin(person_erased, person_erased.c.subject == entries.c.person)
            .outerjoin(subject_erased, subject_erased.c.subject == entries.c.subject)
            .where(entries.c.department == department, entries.c.position >= position)
            .order_by(entries.c.position)
            .limit(min(limit, MAX_LIMIT) + 1 + (position > 0))
        )
    ).all()  # fmt: skip
    if position > 0:
        if not rows or rows[0].position != position:
            raise BadCursor(f"not a cursor from the pages of {department}", field="query/after")
        rows = rows[1:]
    more = len(rows) > limit
    rows = rows[:limit]
    places = await placed(conn, roster_tables, {r.place_id for r in rows if r.place_id})
    listed = [_entry(row, generation, places.get(row.place_id)) for row in rows]
    last = rows[-1].position if rows else position
    page = FeedPage(
        department=department, entries=listed, next=Cursor(generation, last).encode(), more=more
    )
    return Paged(page, etag_of(page))


def _entry(row: Any, generation: int, place: Any) -> FeedEntry:
    gone = row.person_gone is not None or row.subject_gone is not None
    return FeedEntry(
        cursor=Cursor(generation, row.position).encode(), fact=row.fact, person=row.person,
        name=shown(row.name_masked, erased=gone), subject=row.subject,
        grid=place.grid_code if place is not None else None,
        community=place.community_code if place is not None else None,
        detail=row.detail, on=row.on, until=row.until, recorded_at=_utc(row.recorded_at),
    )  # fmt: skip


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite's


def etag_of(page: FeedPage) -> str:
    """A strong ``ETag``: the digest of everything the page says, so it changes when an entry
    does (a person erased since) as well as when entries are added."""
    body = json.dumps(page.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return f'"{hashlib.sha256(body.encode()).hexdigest()[:32]}"'
