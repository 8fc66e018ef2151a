"""Running a service: logging and tracing set up, then uvicorn serving the app.

One process serves one core. ``workers`` above one starts that many processes (uvicorn's
supervisor), each building the app from the same settings: a read is answered by whichever is
free, and the projection runners of all of them share the work by the store's lock.
"""

from __future__ import annotations

import gc
import importlib
import os
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from wangge.service.settings import ServiceSettings
from wangge.service.telemetry import configure_logging, configure_tracing, instrument

_FACTORY = "WANGGE_APP_FACTORY"
_LOG_LEVEL = "WANGGE_SERVE_LOG_LEVEL"
_SERVICE = "WANGGE_SERVE_SERVICE"
_LOG_FORM = "WANGGE_SERVE_LOG_FORM"


def _ready(app: FastAPI, service: str, log_level: str, log_form: str) -> FastAPI:
    configure_logging(log_level, log_form)
    if configure_tracing(service):
        instrument(app)
    # Everything loaded so far (modules, routes, schemas) lives as long as the process: keep it
    # out of the collector's full passes, which otherwise stall requests for a few hundred ms.
    gc.collect()
    gc.freeze()
    return app


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls this factory in each)."""
    module, _, name = os.environ[_FACTORY].partition(":")
    factory: Callable[[], FastAPI] = getattr(importlib.import_module(module), name)
    return _ready(factory(), os.environ[_SERVICE], os.environ[_LOG_LEVEL], os.environ[_LOG_FORM])


def serve(
    app: FastAPI,
    settings: ServiceSettings,
    *,
    host: str,
    port: int,
    workers: int = 1,
    factory: str | None = None,
) -> None:
    """Serve ``app`` until interrupted; JSON logs, OTLP traces when configured.

    With ``workers`` above one, ``factory`` (``"module:function"``, building the app from the
    environment's settings) makes the app in each worker process, and ``app`` is not used.
    """
    if workers == 1:
        _ready(app, settings.service, settings.log_level, settings.log_form)
        uvicorn.run(app, host=host, port=port, log_config=None, proxy_headers=True)
        return
    if factory is None:
        raise ValueError("several workers need the app's factory")
    configure_logging(settings.log_level, settings.log_form)
    os.environ.update(
        {
            _FACTORY: factory,
            _SERVICE: settings.service,
            _LOG_LEVEL: settings.log_level,
            _LOG_FORM: settings.log_form,  # the workers' stderr is the supervisor's
        }
    )
    uvicorn.run(
        "wangge.service.serve:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_config=None,
        proxy_headers=True,
    )
