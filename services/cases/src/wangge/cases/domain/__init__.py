"""The cases service's domain: cases with their mediation, and care plans.

Nothing here imports FastAPI, SQLAlchemy or aiokafka. Importing the package registers every
event type in the catalogue.
"""

from wangge.cases.domain import care as care
from wangge.cases.domain import cases as cases
