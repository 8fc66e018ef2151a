"""The registry's domain: aggregates, commands, events and errors, in pure Python.

Nothing here imports FastAPI, SQLAlchemy or aiokafka (a test keeps it so).
"""

from wangge.registry.domain import places as places  # registers the place events
