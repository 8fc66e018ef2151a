"""The registry service (提户知人): the base register of people, places, things and organisations.

Collected once by grid workers door to door, used many times by every department.
"""

from pathlib import Path

MIGRATIONS = Path(__file__).parent / "migrations"
"""The service's Alembic scripts (the ``migrate`` step runs them), known without importing its
app: the command line imports it only for the commands that serve."""
