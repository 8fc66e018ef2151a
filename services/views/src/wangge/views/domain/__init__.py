"""The views service's own events: only the audit of reads (who read which department's feed).
Every fact it shows is another service's. Importing the package registers the audit event in the
default catalogue (the ``wangge.events`` entry point names this package)."""

from wangge.views.domain import audit as audit
