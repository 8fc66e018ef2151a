"""Wangge cases: the cases of a grid, their mediation, and care plans (提人知事, 提事知情)."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
"""The service's Alembic scripts (the ``migrate`` step runs them), known without importing its
app: the command line imports it only for the commands that serve."""
