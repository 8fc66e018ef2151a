"""The views service runs beside the others on both deployments and reads their events: it is
ready once migrated, documents its API, and its roster follows the registry's place tree."""

from __future__ import annotations

import uuid

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
