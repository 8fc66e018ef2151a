"""The views' copy of the registry's place tree places a dwelling in its grid and community."""

from __future__ import annotations

from wangge.events.projection import active_tables
from wangge.governance.roster import worker_of
from wangge.views.bootstrap import ViewsCore
from wangge.views.projections.roster import Roster, placed

from views_support import Upstream, plant_tree


async def test_a_dwelling_is_placed_in_its_grid_and_community(
    views: tuple[Upstream, ViewsCore],
) -> None:
    upstream, core = views
    tree = await plant_tree(upstream)
    await core.catch_up(upstream=upstream.stores)
    async with core.store.engine.connect() as conn:
        tables = await active_tables(conn, core.projection(Roster.name))
        found = await placed(conn, tables, [tree.dwelling, tree.other_grid])
        holder = await worker_of(conn, tables, tree.grid)
    dwelling = found[tree.dwelling]
    assert (dwelling.grid_id, dwelling.grid_code) == (tree.grid, tree.grid_code)
    assert dwelling.community_code == tree.community_code
    assert found[tree.other_grid].grid_code == tree.other_grid_code
    assert holder == (tree.worker, tree.worker_account)
