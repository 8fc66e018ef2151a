"""OpenTelemetry for the event machinery: spans for append, publish and handle.

The W3C ``traceparent`` travels inside each event's envelope (and so as the ``ce_traceparent``
Kafka header), so one trace runs from the command that appended an event to every handler of it.
"""

from __future__ import annotations

from opentelemetry import context, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

tracer = trace.get_tracer("wangge.events")
_propagator = TraceContextTextMapPropagator()


def tracing_enabled() -> bool:
    """Whether a real tracer provider is installed (an SDK, or any other implementation).

    Without one every span is a no-op; skipping them saves a measurable share of a small append
    or publish (see docs/benchmarks.md), and the provider may be installed at any time.
    """
    return not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider
    )


def current_traceparent() -> str | None:
    """The ``traceparent`` of the current span, or ``None`` outside any recorded trace."""
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def context_from(traceparent: str | None) -> context.Context | None:
    """The context to continue a trace from an event's ``traceparent``."""
    if not traceparent:
        return None
    return _propagator.extract({"traceparent": traceparent})
