"""The views service's own events: the audit of reads (who read which department's feed) and
the clock (a day closed, which decides missed care visits). Every fact it shows is another
service's. Importing the package registers them in the default catalogue (the ``wangge.events``
entry point names this package)."""

from wangge.views.domain import audit as audit
from wangge.views.domain import clock as clock
