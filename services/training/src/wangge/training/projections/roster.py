"""The roster: the training service's copy of the registry's grid workers, and of the grids and
communities they work in (coverage counts a community's workers; access lets community staff
read their community's records), the shared ``wangge.governance.roster``.

A worker who leaves stays on the roster with the day they left: their record is kept, and
coverage from that day on no longer counts them. Buildings and dwellings are not the training
service's business: it keeps grids and the places above them, in ``training_areas``.
"""

from __future__ import annotations

from typing import ClassVar

from wangge.governance import roster
from wangge.governance.roster import AREAS, grid_codes, worker_row

__all__ = ["AREAS", "Roster", "grid_codes", "worker_row"]


class Roster(roster.Roster):
    """Areas (subdistrict, communities, grids), grid workers and the grids each covers."""

    name = "training_roster"
    prefix: ClassVar[str] = "training_"
    places_table: ClassVar[str] = "areas"
    kinds: ClassVar[frozenset[str] | None] = AREAS
