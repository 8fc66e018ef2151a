"""OpenTelemetry and logging for a service: traces out by OTLP, JSON logs that carry trace ids.

Tracing is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set, the
standard OpenTelemetry variables; the exporter reads the rest of its configuration from the
environment too. HTTP requests get server spans, so a command's trace runs from the request
through the append, the relay and every projection handler.
"""

from __future__ import annotations

import logging
import os
import sys

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from pythonjsonlogger.json import JsonFormatter

from wangge.events.faults import quiet_repeats

_ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")


def configure_tracing(service: str) -> bool:
    """Install an SDK tracer provider exporting by OTLP, if an endpoint is configured."""
    if not any(os.environ.get(name) for name in _ENDPOINT_VARIABLES):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": f"wangge-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def instrument(app: FastAPI) -> None:
    """Server spans for every request (once per app).

    Only when tracing is on: without a provider the spans are no-ops, but the instrumentation
    still looks each request's route up among all routes for the span's name, which cost a
    household card about a tenth of its time.
    """
    if not getattr(app, "_is_instrumented_by_opentelemetry", False):
        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


class _TraceIds(logging.Filter):
    """Adds the current trace and span ids, so a log line leads to its trace."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else None
        record.span_id = format(context.span_id, "016x") if context.is_valid else None
        return True


PROBES = ("/healthz", "/readyz", "/metrics")
"""Paths that orchestrators and scrapers call every few seconds: their access lines say nothing."""

LOGGED = "_wangge_logged"
"""Set on an exception once a handler has logged it with its request (``problems``)."""


class _NotProbes(logging.Filter):
    """Drops uvicorn's access lines of the probes (its record's args: client, method, path, ...)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        path = args[2] if isinstance(args, tuple) and len(args) > 2 else ""
        return not (isinstance(path, str) and path.startswith(PROBES))


class _Once(logging.Filter):
    """Drops the server's traceback of an error the problem handler logged already: Starlette
    answers it with the handler, then raises it again to the server, which logs it once more."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not getattr(error, LOGGED, False)


def configure_logging(level: str = "INFO", form: str = "json") -> None:
    """Lines on stderr: JSON (time, level, logger, message, trace and span ids) for collectors,
    or ``text`` for a person at a terminal (``make run``); probes' access lines left out."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_TraceIds())
    handler.addFilter(_Once())
    if form == "text":
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    else:
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{trace_id}{span_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    # a client library's reconnect attempts while a dependency is down: once, then counted
    quiet_repeats(handler)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # the server's loggers are ours: a configuration of uvicorn's own (its defaults, taken by
    # anything that ran a server with them in this process) keeps them from the root handler
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server = logging.getLogger(name)
        server.handlers.clear()
        server.propagate = True
        server.disabled = False
        server.setLevel(logging.NOTSET)  # a server started with log_level="warning" set it
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NotProbes) for f in access.filters):
        access.addFilter(_NotProbes())
    # a served process runs no migration (that is its own step, or done before serving); what
    # this logger says then is two lines per /readyz, from the revision check
    logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
