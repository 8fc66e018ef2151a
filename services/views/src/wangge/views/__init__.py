"""The views service (一网统管): the read side that joins every service's events into one picture
for the subdistrict centre and the departments. It owns no data of its own, only projections of
the registry's, the cases service's, the hotline bridge's and the training service's events, and
the audit of who read a department's feed, and the days it closed (the feeds' clock)."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
"""The service's Alembic scripts (the ``migrate`` step runs them), known without importing its
app: the command line imports it only for the commands that serve."""
