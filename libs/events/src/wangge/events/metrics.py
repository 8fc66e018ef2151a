"""Prometheus metrics of the event machinery: what operators watch to know events flow.

Counters count as things happen (appends, publications, parked events), in the process's
default registry, labelled by service, topic or projection so that several services in one
process (the tests, a demo) stay apart. Lags are read when Prometheus scrapes (a count on the
event table, Kafka's end offsets), not kept up to date between scrapes: nobody looks at them
in between, and a scrape that finds the broker gone says so with a missing sample, not a stale
one. Names follow Prometheus's conventions (``_total`` for counters, base units, ``wangge_``
first); deploy/monitoring's dashboard and alert rules use them, and a test checks every name
they use is exported.
"""

from __future__ import annotations

from prometheus_client import Counter

APPENDED = Counter(
    "wangge_events_appended",
    "Events appended to the service's event store (an idempotent retry appends none).",
    ["service"],
)
PUBLISHED = Counter(
    "wangge_relay_published_events",
    "Events the outbox relay published to the service's topic and the broker acknowledged "
    "(after a relay restart some are published again).",
    ["topic"],
)
PARKED = Counter(
    "wangge_projection_parked_events",
    "Events a projection parked: its handler failed, or an earlier event of the stream is "
    "parked (the dead letters of projections; wangge-events parked lists them).",
    ["projection"],
)
APPLIED = Counter(
    "wangge_projection_applied_events",
    "Events a projection's runner applied to its read model.",
    ["projection"],
)
