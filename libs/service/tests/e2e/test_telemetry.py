"""One trace from the HTTP request to the append; JSON log lines that carry its id."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

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
