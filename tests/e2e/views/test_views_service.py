"""The views service runs beside the others on both deployments and reads their events: it is
ready once migrated, documents its API, and its roster follows the registry's place tree."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta

from wangge.events.projection import active_tables
from wangge.views.projections.roster import Placed, Roster, placed

from quintet_support import Quintet
from trio_support import eventually, json_of


async def test_it_is_ready_once_migrated_and_documents_its_api(quintet: Quintet) -> None:
    ready = await json_of(await quintet.views.client.get("/readyz"))
    assert ready["ready"] is True
    assert {"database", "workers", "migrations"} <= set(ready["checks"])
    spec = await json_of(await quintet.views.client.get("/openapi.json"))
    assert spec["info"]["title"] == "Wangge views"


async def test_its_roster_places_the_registrys_dwelling_in_its_grid(quintet: Quintet) -> None:
    state = quintet.views.state
    tree = quintet.trio.tree
    dwelling = uuid.UUID(tree.dwelling)

    async def known() -> Placed | None:
        async with state.engine.connect() as conn:
            try:
                tables = await active_tables(conn, state.projections[Roster.name])
            except LookupError:
                return None
            found = await placed(conn, tables, [dwelling])
        place = found.get(dwelling)
        return place if place is not None and place.grid_code is not None else None

    place = await eventually(known, what="the dwelling in the views' roster")
    assert (str(place.grid_id), place.community_code) == (tree.grid, tree.community_code)


async def test_a_dashboard_says_whether_it_was_computed_for_the_read_or_kept(
    quintet: Quintet,
) -> None:
    views, tree = quintet.views, quintet.trio.tree
    admin = views.as_("subdistrict_admin", places=["320111001"])
    days = itertools.count()  # a past day no one has read (nor warmed) for each attempt

    async def answered() -> list[str] | None:
        day = date(2025, 1, 1) + timedelta(days=next(days))
        path = f"/grids/{tree.grid_code}/dashboard?as_of={day}"
        first = await views.client.get(path, headers=admin)
        again = await views.client.get(path, headers=admin)
        timings = [first.headers.get("Server-Timing", ""), again.headers.get("Server-Timing", "")]
        # the views may still be applying the others' events: the rows move between the reads
        return timings if first.status_code == 200 and timings[1] == "kept" else None

    timings = await eventually(answered, what="a dashboard read twice over rows standing still")
    assert timings[0].startswith("computed;dur=")
    assert float(timings[0].removeprefix("computed;dur=")) > 0
