"""Running a service: logging and tracing set up, then uvicorn serving the app."""

from __future__ import annotations

import gc

import uvicorn
from fastapi import FastAPI

from wangge.service.settings import ServiceSettings
from wangge.service.telemetry import configure_logging, configure_tracing, instrument


def serve(app: FastAPI, settings: ServiceSettings, *, host: str, port: int) -> None:
    """Serve ``app`` until interrupted; JSON logs, OTLP traces when configured."""
    configure_logging(settings.log_level)
    if configure_tracing(settings.service):
        instrument(app)
    # Everything loaded so far (modules, routes, schemas) lives as long as the process: keep it
    # out of the collector's full passes, which otherwise stall requests for a few hundred ms.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=True)
