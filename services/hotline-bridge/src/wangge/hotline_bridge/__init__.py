"""The hotline bridge (提事知情): tickets of the 12345 government hotline, in and back out.

A ticket the hotline pushes is checked, sealed where it is personal, given its deadline from
the dispatch catalogue (派单目录) on the working-day calendar, and recorded; the grid worker
solves it at source, and the reply goes back to the hotline before the deadline.
"""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
"""The service's Alembic scripts (the ``migrate`` step runs them), known without importing its
app: the command line imports it only for the commands that serve."""
