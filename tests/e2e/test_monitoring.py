"""deploy/monitoring's alert rules and Grafana dashboard against what the services export: every
metric they use is on some service's ``/metrics``, scraped from all five running side by side
(on the embedded default, and on PostgreSQL with Kafka, where the relays' lag has samples)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from wangge.service.testing import sample, scraped

from quintet_support import Quintet

MONITORING = Path(__file__).parents[2] / "deploy" / "monitoring"
PROMETHEUS_OWN = {"up"}
"""Series Prometheus makes itself for every target."""
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
}
METRIC = re.compile(r"\b(wangge_[a-z0-9_]+|up)\b")


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    found = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    found += [v["query"]["query"] for v in dashboard["templating"]["list"]]
    return found


def used(expressions: list[str]) -> set[str]:
    # label names and values inside {...} are no metrics
    return {m for e in expressions for m in METRIC.findall(re.sub(r"\{[^}]*\}", "", e))}


async def exported(client: httpx.AsyncClient) -> set[str]:
    """Every series name a service's scrape declares (with the suffixes of its type), whether
    or not it has samples yet."""
    text = (await client.get("/metrics")).text
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


async def test_every_metric_the_alerts_and_the_dashboard_use_is_exported(
    quintet: Quintet,
) -> None:
    trio = quintet.trio
    clients = [
        s.client for s in (trio.registry, trio.hotline, trio.cases, quintet.training, quintet.views)
    ]
    names: set[str] = set()
    for client in clients:
        names |= await exported(client)
    alerting = used([rule["expr"] for rule in rules()])
    drawn = used(dashboard_expressions())
    assert alerting and drawn
    assert alerting - names - PROMETHEUS_OWN == set()
    assert drawn - names - PROMETHEUS_OWN == set()
    # what the rules promise an operator: the relay's lag, the projections', dead letters and
    # overdue tickets are among them
    assert {
        "wangge_relay_lag_events",
        "wangge_projection_lag_events",
        "wangge_projection_parked_now",
        "wangge_hotline_replies_dead_lettered",
        "wangge_hotline_tickets_overdue",
    } <= alerting
    if trio.hotline.settings.kafka_bootstrap_servers:
        # with Kafka every producer reports its relay's lag (a number, once it is read)
        producers = (trio.registry, trio.hotline, trio.cases, quintet.training)
        for client, name in ((p.client, p.settings.service) for p in producers):
            lag = await scraped(client)
            assert ("wangge_relay_lag_events", frozenset({("service", name)})) in lag, name
            assert sample(lag, "wangge_relay_lag_events", service=name) >= 0


def test_every_alert_says_how_bad_and_what_to_do() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_the_dashboards_panels_each_have_an_id_and_queries_a_prometheus_datasource() -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["type"] == "prometheus"
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
