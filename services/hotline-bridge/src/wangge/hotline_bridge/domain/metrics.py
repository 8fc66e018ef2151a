"""The hotline figures of a grid or a community for a month (the 12345 assessment's rates).

The rule lives in the governance kernel (``wangge.governance.hotline_figures``), where the views
service's grid dashboard computes the same figures from the same rule; the names stay here for
this service's callers.
"""

from __future__ import annotations

from wangge.governance.hotline_figures import CST as CST
from wangge.governance.hotline_figures import RESPONSE_WINDOW as RESPONSE_WINDOW
from wangge.governance.hotline_figures import Figures as Figures
from wangge.governance.hotline_figures import TicketFacts as TicketFacts
from wangge.governance.hotline_figures import figures as figures
from wangge.governance.hotline_figures import month_bounds as month_bounds
from wangge.governance.hotline_figures import standing_day as standing_day
