"""The hotline bridge's domain: tickets, the dispatch catalogue and the working-day calendar.

Nothing here imports FastAPI, SQLAlchemy or aiokafka. Importing the package registers every
event type in the catalogue (``make docs`` publishes them from here).
"""

from wangge.hotline_bridge.domain import tickets as tickets
