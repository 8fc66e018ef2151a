"""The training service's domain: sessions, programmes, secondments, handbooks and forums, and
the xAPI statements learning record providers send.

Nothing here imports FastAPI, SQLAlchemy or aiokafka. Importing the package registers every
event type in the catalogue.
"""

from wangge.training.domain import erasure as erasure
from wangge.training.domain import forums as forums
from wangge.training.domain import handbooks as handbooks
from wangge.training.domain import programmes as programmes
from wangge.training.domain import received_statements as received_statements
from wangge.training.domain import secondments as secondments
from wangge.training.domain import sessions as sessions
