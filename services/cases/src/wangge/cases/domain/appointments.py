"""Who covers a grid, as the cases service's copies of the registry's appointments decide it.

The ordering of appointments across workers' streams (a grid goes to the newest appointment the
registry recorded, never to the one that happened to arrive last) is the governance kernel's
(``wangge.governance.appointments``), shared with every copy of the roster; it is re-exported
here. What is the cases service's own is whom a new case goes to.

The take-over of open cases keeps its own record of the holds, and the worker of a new case is
read from it too: a case opened in a grid then always meets the appointment, either when it
opens (the grid's record already names the worker) or when the take-over looks for the grid's
open cases.
"""

from __future__ import annotations

import uuid

from wangge.governance.appointments import Hold, appoint, leave, won

__all__ = ["Hold", "Worker", "appoint", "leave", "responsible", "won"]

Worker = tuple[uuid.UUID, str]
"""A grid's worker: their id and account."""


def responsible(hold: Hold | None, *, account: str | None, roster: Worker | None) -> Worker | None:
    """Who a case opened in a grid goes to, by the record the take-over of open cases keeps.

    ``hold``: the grid's hold in that record (None: it never decided about the grid), ``account``
    its worker's (None: their appointment never reached it, a history cut short), ``roster``
    the roster's worker of the grid. A grid the record never decided about takes the roster's
    answer: its appointment was kept before the record was (the roster kept it), or has yet to
    reach the take-over, which then moves the case to that worker anyway. A grid given up has
    nobody, whatever the roster, which may not have caught up, says.
    """
    if hold is None:
        return roster
    if hold.worker_id is None or account is None:
        return None
    return (hold.worker_id, account)
