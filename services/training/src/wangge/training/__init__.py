"""Wangge training: grid workers' sessions, programmes, secondments, handbooks and forums, and
each worker's record (提情知策)."""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
"""The service's Alembic scripts (the ``migrate`` step runs them), known without importing its
app: the command line imports it only for the commands that serve."""
