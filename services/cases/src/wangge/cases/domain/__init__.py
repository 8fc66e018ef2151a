"""The cases service's domain: cases with their lifecycle and mediation, care plans, and the
erasures the registry's are followed with.

Nothing here imports FastAPI, SQLAlchemy or aiokafka. Importing the package registers every
event type in the catalogue.
"""

from wangge.cases.domain import care as care
from wangge.cases.domain import cases as cases
from wangge.cases.domain import erasure as erasure
from wangge.cases.domain import lifecycle as lifecycle
from wangge.cases.domain import mediation as mediation
