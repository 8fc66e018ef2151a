"""Likely duplicates among the persons of the register, for staff to review before a merge.

The same identity number is refused at registration already (its keyed hash is unique); what
is left are records of one human under different numbers, or under a mistyped name: a census
sheet and a door-to-door visit, a floating resident registered twice. The rule is explainable
rather than learned, so a reviewer sees why a pair is offered:

- only records of the same sex and birth year are compared (the blocking key; both are kept in
  clear for age bands), within the caller's places, neither merged nor erased;
- the same name pairs them; a name one character apart (a mistyped or homophone character,
  张伟 / 张玮) pairs them only where they also share a dwelling or a household;
- the score adds what they share: the name (0.7 the same, 0.45 one character apart), the
  dwelling (0.2), the household (0.1).

It runs on the registry's own read model (the name column is the registry's, never published),
and shows the masked names only: the reviewer opens each record's personal data, audited.
Pairs that staff dismissed (``DuplicateDismissed``) are not offered again.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import sqlalchemy as sa
from rapidfuzz.distance import Levenshtein
from sqlalchemy.ext.asyncio import AsyncConnection

from wangge.registry.projections.places import in_places

Tables = Mapping[str, sa.Table]
SAME_NAME = 0.7
NAME_APART = 0.45
SAME_DWELLING = 0.2
SAME_HOUSEHOLD = 0.1


@dataclass(frozen=True)
class Candidate:
    """Two records that may be one human, and why."""

    person_id: uuid.UUID
    other_person_id: uuid.UUID
    score: float
    reasons: tuple[str, ...]


def _pair(a: Any, b: Any) -> Candidate | None:
    """The pair's candidate, if the rule pairs them (``a`` and ``b`` share sex and birth
    year)."""
    distance = Levenshtein.distance(a.name, b.name, score_cutoff=1)
    if distance > 1:
        return None
    reasons = ["same sex and birth year"]
    score = SAME_NAME if distance == 0 else NAME_APART
    reasons.append("same name" if distance == 0 else "name one character apart")
    if a.dwelling_id is not None and a.dwelling_id == b.dwelling_id:
        score += SAME_DWELLING
        reasons.append("same dwelling")
    if a.household_id is not None and a.household_id == b.household_id:
        score += SAME_HOUSEHOLD
        reasons.append("same household")
    if distance == 1 and len(reasons) == 2:
        return None  # a name one character apart alone is only a common surname
    first, second = sorted((a, b), key=lambda r: str(r.person_id))
    return Candidate(first.person_id, second.person_id, round(score, 2), tuple(reasons))


def pairs(rows: Iterable[Any]) -> Iterator[Candidate]:
    """The candidates among ``rows`` (each with person_id, name, sex, birth_year, dwelling_id,
    household_id), blocked by sex and birth year."""
    blocks: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for row in rows:
        blocks[(row.sex, row.birth_year)].append(row)
    for block in blocks.values():
        for a, b in combinations(block, 2):
            candidate = _pair(a, b)
            if candidate is not None:
                yield candidate


async def likely_duplicates(
    conn: AsyncConnection, people: Tables, places: Tables, *, within: Collection[str]
) -> tuple[list[Candidate], dict[uuid.UUID, Any]]:
    """The candidates among the live records in ``within``, best first, not dismissed; and the
    rows they name (masked names, birth year, dwelling, with its address)."""
    p, pl = people["persons"], places["places"]
    query = (
        sa.select(
            p.c.person_id, p.c.name, p.c.name_masked, p.c.sex, p.c.birth_year, p.c.dwelling_id,
            p.c.household_id, p.c.residence_status, pl.c.address,
        )
        .select_from(p.outerjoin(pl, pl.c.place_id == p.c.dwelling_id))
        .where(
            in_places(pl.c.scope, within), p.c.merged_into.is_(None), p.c.name.is_not(None),
            p.c.erased.is_(False),
        )
    )  # fmt: skip
    rows = list(await conn.execute(query))
    dismissed = people["dismissed"]
    seen = {
        (r.person_id, r.other_person_id)
        for r in await conn.execute(sa.select(dismissed.c.person_id, dismissed.c.other_person_id))
    }
    found = [c for c in pairs(rows) if (c.person_id, c.other_person_id) not in seen]
    found.sort(key=lambda c: (-c.score, str(c.person_id), str(c.other_person_id)))
    named = {c.person_id for c in found} | {c.other_person_id for c in found}
    return found, {r.person_id: r for r in rows if r.person_id in named}
