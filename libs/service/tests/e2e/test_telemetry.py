"""One trace from the HTTP request to the append; JSON log lines that carry its id."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from wangge.service import ServiceSettings, create_app
from wangge.service.telemetry import configure_logging

from service_sample import catalogue, router


async def test_a_request_and_its_append_share_one_trace(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    settings = ServiceSettings(
        service="counters",
        environment="test",
        data_dir=tmp_path,
        database_url=None,
        kafka_bootstrap_servers=None,
    )
    app = create_app(settings, title="Counters", routers=[router], catalogue=catalogue)
    spans.clear()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
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
