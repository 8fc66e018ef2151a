"""The registry's domain: aggregates, commands, events and errors, in pure Python.

Nothing here imports FastAPI, SQLAlchemy or aiokafka (a test keeps it so). Importing the package
registers every registry event type in the catalogue (``make docs`` publishes them from here).
"""

from wangge.registry.domain import households as households
from wangge.registry.domain import organisations as organisations
from wangge.registry.domain import persons as persons
from wangge.registry.domain import places as places
from wangge.registry.domain import things as things
from wangge.registry.domain import visits as visits
from wangge.registry.domain import workers as workers
