"""One trace from the HTTP request to the append; JSON log lines that carry its id."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from wangge.service.telemetry import configure_logging

from service_sample import router, sample_app, sample_settings, serving


async def test_a_request_and_its_append_share_one_trace(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    settings = sample_settings("sqlite", tmp_path, None, "tel")
    app = sample_app(settings, routers=[router], bootstrap=None)
    spans.clear()
    async with serving(app) as client:
        response = await client.post(f"/counters/{uuid.uuid4().hex}/ticks", json={"n": 1})
    assert response.status_code == 201
    finished = spans.get_finished_spans()
    [append] = [s for s in finished if s.name == "events.append"]
    [server] = [s for s in finished if s.name == "POST /counters/{counter_id}/ticks"]
    assert append.context is not None and server.context is not None
    assert append.context.trace_id == server.context.trace_id
    assert append.parent is not None and append.parent.span_id == server.context.span_id


def test_log_lines_are_json_with_trace_ids(
    spans: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    from opentelemetry import trace

    configure_logging("INFO")
    try:
        with trace.get_tracer("test").start_as_current_span("work") as span:
            logging.getLogger("wangge.test").info("visit recorded")
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    finally:
        logging.getLogger().handlers.clear()
    assert line["message"] == "visit recorded"
    assert line["level"] == "INFO"
    assert line["logger"] == "wangge.test"
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")


def test_a_person_at_a_terminal_gets_text_and_no_probe_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", "text")
    access = logging.getLogger("uvicorn.access")
    try:
        for path in ("/readyz", "/healthz", "/metrics", "/tickets"):
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", path, "1.1", 200)
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        logging.getLogger().handlers.clear()
        access.filters.clear()
    assert len(lines) == 1 and '"GET /tickets HTTP/1.1" 200' in lines[0]
    assert " INFO    uvicorn.access: " in lines[0] and not lines[0].startswith("{")


async def test_an_unexpected_error_is_logged_once_with_its_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = sample_settings("sqlite", tmp_path, None, "tel")
    app = sample_app(settings, bootstrap=None)
    configure_logging("INFO")
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)  # the error reaches us as the server
            async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
                with pytest.raises(RuntimeError) as raised:
                    await client.get("/counters/-/boom")
        # what uvicorn logs of an error the app raised to it
        logging.getLogger("uvicorn.error").error(
            "Exception in ASGI application", exc_info=raised.value
        )
        logging.getLogger("uvicorn.error").error(
            "Exception in ASGI application", exc_info=RuntimeError("not handled by the app")
        )
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        logging.getLogger().handlers.clear()
    messages = [json.loads(line)["message"] for line in lines if line.startswith("{")]
    assert messages.count("unhandled error on GET /counters/-/boom") == 1
    assert messages.count("Exception in ASGI application") == 1  # the other error's
