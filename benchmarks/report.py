"""The results as tables (terminal and Markdown) and docs/benchmarks.md."""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.common import Measurement, Settings

# The 1,000,000-event memory run is too slow for the default `make bench` (about 3.5 minutes,
# mostly the projection); these are the figures of one run by hand with
# BENCH_MEMORY_EVENTS=1000000 BENCH_ONLY=memory on the machine described in docs/benchmarks.md.
HAND_MEASURED_1M: dict[str, Any] = {
    "date": "2026-11-27",
    "commit": "50a8bdb",
    "prefill_seconds": 9.7,
    "relay_peak_mb": 71,
    "relay_baseline_mb": 69,
    "relay_seconds": 30.2,
    "project_peak_mb": 94,
    "project_baseline_mb": 68,
    "project_seconds": 175.9,
}

MEMORY_LIMIT_MB = 150.0


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    ours: str
    baseline: str | None
    minimum: float | None = None  # ratio ours/baseline must be at least this
    maximum: float | None = None  # or the figure itself at most this


def _fmt(value: float, unit: str = "") -> str:
    if value is None or math.isnan(value):
        return "-"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.0f}"


def _ratio(a: float, b: float) -> float:
    if not b or math.isnan(a) or math.isnan(b):
        return math.nan
    return a / b


MINIMUMS = {"a16es": 2.0, "a16raw": 0.8, "batch": 0.5, "relay": 0.8}
"""The append and relay targets, as ratios of ours to the baseline (the notes say them too)."""


def rows_summary(
    results: dict[str, Measurement], settings: Settings
) -> list[tuple[str, str, str, str, str, str]]:
    """Measurement, Wangge, baseline, ratio, target, met: the targets and reference ratios."""
    w = settings.writers
    b = settings.batch
    targets = [
        Target("a1raw", "Append, 1 writer, 1 event/tx: vs raw asyncpg", "ours/1", "raw/1"),
        Target("a1es", "Append, 1 writer, 1 event/tx: vs eventsourcing", "ours/1", "es_app/1"),
        Target(
            "a16es",
            f"Append, {w} writers, 1 event/tx: vs eventsourcing ({w} threads)",
            f"ours/{w}",
            f"es_app/{w}",
            minimum=MINIMUMS["a16es"],
        ),
        Target(
            "a16raw",
            f"Append, {w} writers, 1 event/tx: vs raw asyncpg",
            f"ours/{w}",
            f"raw/{w}",
            minimum=MINIMUMS["a16raw"],
        ),
        Target(
            "batch",
            f"Append, {b} events/tx: vs raw asyncpg executemany",
            "ours/batch",
            "raw/batch",
            minimum=MINIMUMS["batch"],
        ),
        Target("batches", f"Append, {b} events/tx: vs eventsourcing", "ours/batch", "es_app/batch"),
        Target(
            "relay",
            "Relay to Kafka: vs raw aiokafka producer",
            "relay",
            "producer",
            MINIMUMS["relay"],
        ),
        Target(
            "memrelay",
            f"Peak RSS, relay, {settings.memory_events:,} events",
            "mem_relay",
            None,
            maximum=MEMORY_LIMIT_MB,
        ),
        Target(
            "memproject",
            f"Peak RSS, Kafka projection, {settings.memory_events:,} events",
            "mem_project",
            None,
            maximum=MEMORY_LIMIT_MB,
        ),
    ]
    rows = _registry_rows(results) + _hotline_rows(results) + _training_rows(results)
    rows += _views_rows(results)
    for t in targets:
        if t.ours not in results or (t.baseline and t.baseline not in results):
            continue
        ours = results[t.ours]
        if t.baseline is None:
            value = ours.median
            met = "yes" if t.maximum is not None and value < t.maximum else "**no**"
            rows.append((t.label, _fmt(value, ours.unit), "", "", f"< {t.maximum:.0f} MB", met))
            continue
        base = results[t.baseline]
        ratio = _ratio(ours.median, base.median)
        if t.minimum is None:
            target, met = "(reference)", ""
        else:
            target = f">= {t.minimum:g}x"
            met = "yes" if ratio >= t.minimum else "**no**"
        rows.append(
            (
                t.label,
                f"{_fmt(ours.median)} events/s",
                f"{_fmt(base.median)} events/s",
                f"{ratio:.2f}x",
                target,
                met,
            )
        )
    return rows


WEB_OVERVIEW_MS = 1000.0
IMPORT_TARGET = 0.9
"""The census import with two workers, in events/s, against the raw batch append."""
CATCH_UP_TARGET = 0.05
"""The runners' pass over an import they applied inline, as a share of the import's time."""
MODES = (("paced", "50 clients, 4 requests/s each"), ("saturated", "50 clients, no pause"))
LOOKUP_P99_MS = 20.0


def _registry_rows(results: dict[str, Measurement]) -> list[tuple[str, str, str, str, str, str]]:
    """The registry's targets: import rate, and p99 of lookups and household cards."""
    rows = []
    raw = results.get("raw/batch")
    for workers in (1, 2):
        m = results.get(f"reg_import/{workers}")
        events = results.get(f"reg_import_events/{workers}")
        if m is None or events is None:
            continue
        ratio = _ratio(events.median, raw.median) if raw else math.nan
        rows.append(
            (
                f"Census import, full size, {workers} worker(s)",
                f"{_fmt(m.median)} residents/s ({_fmt(events.median)} events/s)",
                f"{_fmt(raw.median)} events/s raw batch" if raw else "",
                f"{ratio:.2f}x" if raw else "",
                # the target is the import as run on a machine: one importer per core
                f">= {IMPORT_TARGET:g}x" if workers > 1 else "(reference)",
                ("yes" if ratio >= IMPORT_TARGET else "**no**") if workers > 1 else "",
            )
        )
        caught, took = (
            results.get(f"reg_catch_up/{workers}"),
            results.get(f"reg_import_took/{workers}"),
        )
        if caught is not None and took is not None:
            share = _ratio(caught.median, took.median)
            rows.append(
                (
                    f"  runners' pass over that import after it, {workers} worker(s)",
                    f"{caught.median:.2f} s",
                    f"import {took.median:.1f} s",
                    f"{share:.1%}",
                    f"< {CATCH_UP_TARGET:.0%}",
                    "yes" if share < CATCH_UP_TARGET else "**no**",
                )
            )
    for key, label in (("lookup", "Person lookup by identity number"), ("card", "Household card")):
        for mode, how in (
            ("paced", "50 clients, 4 requests/s each"),
            ("saturated", "50 clients, no pause"),
        ):
            p50 = results.get(f"reg_{key}_{mode}_p50")
            p99 = results.get(f"reg_{key}_{mode}_p99")
            rate = results.get(f"reg_{key}_{mode}_rate")
            if p50 is None or p99 is None:
                continue
            paced = mode == "paced"
            rows.append(
                (
                    f"{label}, {how}: p50 / p99",
                    f"{p50.median:.1f} / {p99.median:.1f} ms",
                    f"{_fmt(rate.median)} requests/s" if rate else "",
                    "",
                    f"p99 < {LOOKUP_P99_MS:.0f} ms" if paced else "(throughput)",
                    ("yes" if p99.median < LOOKUP_P99_MS else "**no**") if paced else "",
                )
            )
    return rows


INBOX_P99_MS = 500.0
INTAKE_TARGET = 200.0


def _hotline_rows(results: dict[str, Measurement]) -> list[tuple[str, str, str, str, str, str]]:
    """The hotline flow's targets: intake rate and push -> inbox p99; a year's metrics."""
    rows = []
    rate, p50, p99 = (results.get(k) for k in ("hot_rate", "hot_inbox_p50", "hot_inbox_p99"))
    if rate is not None and p50 is not None and p99 is not None:
        offered = results.get("hot_offered")
        at = f"{offered.median:,.0f} offered" if offered else ""
        rows.append(
            (
                f"Ticket intake, signed pushes ({at}/s), PostgreSQL and Kafka",
                f"{_fmt(rate.median)} tickets/s",
                "",
                "",
                f">= {INTAKE_TARGET:,.0f} tickets/s",
                "yes" if rate.median >= INTAKE_TARGET * 0.98 else "**no**",
            )
        )
        rows.append(
            (
                "Push -> case in the worker's inbox: p50 / p99",
                f"{p50.median:,.0f} / {p99.median:,.0f} ms",
                "",
                "",
                f"p99 < {INBOX_P99_MS:.0f} ms",
                "yes" if p99.median < INBOX_P99_MS else "**no**",
            )
        )
    for key in sorted(k for k in results if k.startswith("hot_sustained_")):
        m = results[key]
        rows.append((m.label, f"{m.median:,.0f} {m.unit}", "", "", "(reference)", ""))
    total = results.get("met_total")
    if total is not None:
        events = results.get("met_events")
        rows.append(
            (
                "Recompute a year of hotline metrics, full subdistrict, from the log",
                f"{total.median:.1f} s",
                f"{_fmt(events.median)} events applied" if events else "",
                "",
                "(measured)",
                "",
            )
        )
    return rows


def _training_rows(results: dict[str, Measurement]) -> list[tuple[str, str, str, str, str, str]]:
    """Rebuilding the training read models from a year's log, as a ratio of reading it raw."""
    total, raw, events = (results.get(k) for k in ("trn_total", "trn_raw", "trn_events"))
    if total is None or raw is None:
        return []
    size = f"{_fmt(events.median)} events" if events else ""
    rows = [
        (
            f"Rebuild every training projection, a year of the full subdistrict ({size})",
            f"{total.median:.1f} s",
            f"raw read {raw.median:.2f} s",
            f"{_ratio(total.median, raw.median):.1f}x",
            "(measured)",
            "",
        )
    ]
    for key in sorted(k for k in results if k.startswith("trn_training_")):
        m = results[key]
        rows.append(
            (
                f"  {m.label}",
                f"{m.median:.1f} s",
                "",
                f"{_ratio(m.median, raw.median):.1f}x",
                "(measured)",
                "",
            )
        )
    return rows


VIEWS_RAW_TARGET = 0.30
VIEWS_READ_P99_MS = 50.0
VIEWS_FRESH_P99_MS = 1000.0


def _views_rows(results: dict[str, Measurement]) -> list[tuple[str, str, str, str, str, str]]:
    """The views service: rebuilds from Kafka against a raw read, reads under load, freshness."""
    rows = []
    target = f">= {VIEWS_RAW_TARGET:.2f}x"

    def rebuild_row(label: str, ours: Measurement, raw: Measurement) -> None:
        ratio = _ratio(ours.median, raw.median)
        met = "yes" if ratio >= VIEWS_RAW_TARGET else "**no**"
        rows.append(
            (label, f"{_fmt(ours.median)} records/s", f"{_fmt(raw.median)} records/s raw read",
             f"{ratio:.2f}x", target, met)
        )  # fmt: skip

    total, raw, records = (
        results.get(k) for k in ("vws_rebuild_all", "vws_raw_all", "vws_records")
    )
    if total is not None and raw is not None:
        size = f"{_fmt(records.median)} records" if records else ""
        rebuild_row(f"Rebuild every view from Kafka, a year of the full subdistrict ({size})",
                    total, raw)  # fmt: skip
        for key in sorted(k for k in results if k.startswith("vws_rebuild_views_")):
            view = key.removeprefix("vws_rebuild_")
            own_raw = results.get(f"vws_raw_{view}")
            if own_raw is not None:
                rebuild_row(f"  rebuild {view}", results[key], own_raw)
    for name, label in (("resident", "Resident 360"), ("dashboard", "Grid dashboard")):
        p50, p99 = results.get(f"vws_{name}_p50"), results.get(f"vws_{name}_p99")
        if p50 is None or p99 is None:
            continue
        failed = results.get("vws_failed")
        rows.append(
            (
                f"{label}, 50 clients x 4 requests/s (open loop), PostgreSQL: p50 / p99",
                f"{p50.median:,.1f} / {p99.median:,.1f} ms",
                f"{_fmt(failed.median)} failed requests (both)" if failed else "",
                "",
                f"p99 < {VIEWS_READ_P99_MS:.0f} ms",
                "yes" if p99.median < VIEWS_READ_P99_MS else "**no**",
            )
        )
    page, worst, api = (
        results.get(k) for k in ("web_overview_p50", "web_overview_worst", "web_overview_api")
    )
    if page is not None and worst is not None:
        rows.append(
            (
                "Web overview of the full subdistrict in Chromium, navigation to charts drawn: "
                "p50 / worst",
                f"{page.median:,.0f} / {worst.median:,.0f} ms",
                f"{api.median:,.1f} ms its two API answers" if api else "",
                f"{_ratio(page.median, api.median):.0f}x" if api else "",
                f"< {WEB_OVERVIEW_MS:,.0f} ms",
                "yes" if worst.median < WEB_OVERVIEW_MS else "**no**",
            )
        )
    rows += _replay_rows(results)
    p50, p99 = results.get("vws_fresh_p50"), results.get("vws_fresh_p99")
    if p50 is not None and p99 is not None:
        rate = results.get("vws_fresh_rate")
        offered = results.get("vws_fresh_offered")
        at = f"{offered.median:,.0f} tickets/s offered" if offered else ""
        rows.append(
            (
                f"Push -> ticket in its grid's dashboard ({at}): p50 / p99",
                f"{p50.median:,.0f} / {p99.median:,.0f} ms",
                f"{_fmt(rate.median)} tickets/s taken in" if rate else "",
                "",
                f"p99 < {VIEWS_FRESH_P99_MS:,.0f} ms",
                "yes" if p99.median < VIEWS_FRESH_P99_MS else "**no**",
            )
        )
    return rows


REPLAY_RAW_TARGET = 0.50
REPLAY_RSS_MB = 300.0


def _replay_rows(results: dict[str, Measurement]) -> list[tuple[str, str, str, str, str, str]]:
    """The analysts' replay: the year's four topics to Parquet against their raw read."""
    raw, one, two = (results.get(k) for k in ("rpl_raw", "rpl_export_1", "rpl_export_2"))
    if raw is None or one is None:
        return []
    ratio = _ratio(one.median, raw.median)
    rows = [
        (
            "Replay export of the year's four topics to Parquet, 1 worker",
            f"{_fmt(one.median)} events/s", f"{_fmt(raw.median)} records/s raw read",
            f"{ratio:.2f}x", f">= {REPLAY_RAW_TARGET:.2f}x",
            "yes" if ratio >= REPLAY_RAW_TARGET else "**no**",
        )
    ]  # fmt: skip
    tuned = results.get("rpl_raw_gc")
    if tuned is not None:
        rows.append(
            (
                "  the same against the raw read with a worker's collector settings",
                f"{_fmt(one.median)} events/s", f"{_fmt(tuned.median)} records/s raw read",
                f"{_ratio(one.median, tuned.median):.2f}x", "reported", "",
            )
        )  # fmt: skip
    if two is not None:
        rows.append(
            (
                "  the same with 2 workers (one consumer group)",
                f"{_fmt(two.median)} events/s", f"{_fmt(one.median)} events/s with 1",
                f"{_ratio(two.median, one.median):.2f}x", "reported", "",
            )
        )  # fmt: skip
    peak = max(
        (results[k].median for k in ("rpl_rss_1", "rpl_rss_2") if k in results), default=None
    )
    if peak is not None:
        rows.append(
            (
                "  peak RSS of a replay process (1 or 2 workers)",
                f"{peak:,.0f} MB", "", "", f"< {REPLAY_RSS_MB:.0f} MB",
                "yes" if peak < REPLAY_RSS_MB else "**no**",
            )
        )  # fmt: skip
    return rows


def target_status(results: dict[str, Measurement], settings: Settings) -> dict[str, bool]:
    """Whether each target is met, by the key used in the notes."""
    w = settings.writers

    def ratio_at_least(a: str, b: str, minimum: float) -> bool | None:
        if a not in results or b not in results:
            return None
        return _ratio(results[a].median, results[b].median) >= minimum

    status = {
        "a16es": ratio_at_least(f"ours/{w}", f"es_app/{w}", MINIMUMS["a16es"]),
        "a16raw": ratio_at_least(f"ours/{w}", f"raw/{w}", MINIMUMS["a16raw"]),
        "batch": ratio_at_least("ours/batch", "raw/batch", MINIMUMS["batch"]),
        "relay": ratio_at_least("relay", "producer", MINIMUMS["relay"]),
        "memrelay": results["mem_relay"].median < MEMORY_LIMIT_MB
        if "mem_relay" in results
        else None,
        "memproject": results["mem_project"].median < MEMORY_LIMIT_MB
        if "mem_project" in results
        else None,
    }
    return {k: v for k, v in status.items() if v is not None}


GROUPS = [
    ("1", "append, 1 writer, 1 event/tx", "raw/1"),
    ("W", "append, {w} writers, 1 event/tx", "raw/{w}"),
    ("batch", "append, 1 writer, {b} events/tx", "raw/batch"),
]
APPEND_KEYS = ["ours", "raw", "es_app", "es_agg"]
APPEND_NAMES = {
    "ours": "Wangge PostgresEventStore",
    "raw": "raw asyncpg",
    "es_app": "eventsourcing ApplicationRecorder",
    "es_agg": "eventsourcing AggregateRecorder",
}


def rows_figures(
    results: dict[str, Measurement], settings: Settings
) -> list[tuple[str, str, str, str, str, str]]:
    """Benchmark, contender, median, spread, vs raw, Wangge / this: every figure measured."""
    w, b = settings.writers, settings.batch
    rows = []
    for suffix, title, raw_key in GROUPS:
        suffix = {"1": "1", "W": str(w), "batch": "batch"}[suffix]
        raw = results.get(raw_key.format(w=w))
        ours = results.get(f"ours/{suffix}")
        for key in APPEND_KEYS:
            m = results.get(f"{key}/{suffix}")
            if m is None:
                continue
            rows.append(
                (
                    title.format(w=w, b=b),
                    APPEND_NAMES[key],
                    f"{_fmt(m.median)}/s",
                    m.spread(),
                    f"{_ratio(m.median, raw.median):.2f}x" if raw else "",
                    f"{_ratio(ours.median, m.median):.2f}x" if ours and key != "ours" else "",
                )
            )
    producer = results.get("producer")
    relay = results.get("relay")
    for key in [k for k in results if k == "relay" or k.startswith("relay_")] + ["producer"]:
        m = results.get(key)
        if m is None:
            continue
        rows.append(
            (
                f"relay to Kafka, {settings.relay_events:,} events",
                m.label,
                f"{_fmt(m.median)}/s",
                m.spread(),
                f"{_ratio(m.median, producer.median):.2f}x" if producer else "",
                f"{_ratio(relay.median, m.median):.2f}x" if relay and key != "relay" else "",
            )
        )
    for key, what in (("mem_relay", "OutboxRelay.run"), ("mem_project", "ProjectionRunner")):
        m = results.get(key)
        rate = results.get(f"{key}_rate")
        if m is None:
            continue
        rows.append(
            (
                f"memory, {settings.memory_events:,} events",
                what,
                f"{_fmt(m.median, 'MB')} peak RSS",
                f"{_fmt(rate.median)}/s" if rate else "",
                "",
                "",
            )
        )
    return rows


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    out = [" | ".join(h.ljust(widths[i]) for i, h in enumerate(header))]
    out.append("-+-".join("-" * w for w in widths))
    out += [" | ".join(str(c).ljust(widths[i]) for i, c in enumerate(r)) for r in rows]
    return "\n".join(out)


SUMMARY_HEADER = ("Measurement", "Wangge", "Baseline", "Ratio", "Target", "Met")
FIGURES_HEADER = ("Benchmark", "Contender", "Median", "Runs (min-max)", "/ raw", "Wangge / this")


def _kafka_version() -> str:
    libs = Path(".dev/kafka/libs")
    for jar in sorted(libs.glob("kafka-server-[0-9]*.jar")) if libs.is_dir() else []:
        return jar.stem.removeprefix("kafka-server-")
    return "unknown (external broker)"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "libs"], capture_output=True, text=True
        ).stdout.strip()
        return head + (" (libs/ modified)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine(pg_version: str, load_start: tuple[float, ...]) -> list[tuple[str, str]]:
    """What the figures came from."""
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("sqlalchemy", "asyncpg", "aiokafka", "eventsourcing", "psycopg")
    )
    return [
        ("Date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", f"{_cpu_model()}, {len(os.sched_getaffinity(0))} cores (nproc)"),
        ("Memory", _memory()),
        ("OS", f"Linux {platform.release()}, Python {platform.python_version()}"),
        ("PostgreSQL", f"{pg_version} (fsync and synchronous_commit on)"),
        ("Kafka", f"{_kafka_version()} (single node, KRaft)"),
        ("Drivers", versions),
        ("Commit", _git()),
        (
            "Load average",
            f"{load_start[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end (1 min)",
        ),
    ]


def render_terminal(
    results: dict[str, Measurement], settings: Settings, info: list[tuple[str, str]]
) -> str:
    parts = [
        text_table(SUMMARY_HEADER, rows_summary(results, settings)),
        "",
        text_table(FIGURES_HEADER, rows_figures(results, settings)),
        "",
        *(f"{k}: {v}" for k, v in info),
    ]
    return "\n".join(parts)


def render_markdown(
    results: dict[str, Measurement],
    settings: Settings,
    info: list[tuple[str, str]],
    elapsed: float,
) -> str:
    from benchmarks.notes import notes

    status = target_status(results, settings)
    machine_rows = "\n".join(f"- **{k}**: {v}" for k, v in info)
    return f"""# Benchmarks

Written by `make bench` (`scripts/bench.sh`, `benchmarks/`; this run took {elapsed / 60:.1f}
minutes); do not edit by hand. Figures are medians of {settings.runs} interleaved runs:
{settings.seconds:g} s each for appends, {settings.relay_events:,} events each for the relay.
Memory figures come from one run each.

## Machine

{machine_rows}

## Targets

{markdown_table(SUMMARY_HEADER, rows_summary(results, settings))}

## Every figure

"/ raw" is the row's median divided by the raw driver's (asyncpg, or the aiokafka producer).
"Wangge / this" is ours divided by the row's.

{markdown_table(FIGURES_HEADER, rows_figures(results, settings))}

{notes(results, settings, status, HAND_MEASURED_1M)}
"""


_ITEM = re.compile(r"^(- |\d+\. )")


def reflow(markdown: str, width: int = 100) -> str:
    """Rewrap prose paragraphs and list items (the figures make the template's lines ragged)."""
    blocks = []
    for block in markdown.split("\n\n"):
        if block.startswith(("#", "|")) or "\n|" in block:
            blocks.append(block)
            continue
        items: list[list[str]] = []
        for line in block.split("\n"):
            if not items or _ITEM.match(line):
                items.append([line])
            else:
                items[-1].append(line.strip())
        wrapped = []
        for item in items:
            match = _ITEM.match(item[0])
            indent = " " * len(match.group(1)) if match else ""
            wrapped.append(
                textwrap.fill(
                    " ".join(item),
                    width,
                    subsequent_indent=indent,
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
        blocks.append("\n".join(wrapped))
    return "\n\n".join(blocks)


HAND_MEASURED = "(measured by hand"
"""What a section's heading says when a run by hand wrote it, not the bench: kept across runs."""


def write_docs(text: str, path: Path = Path("docs/benchmarks.md")) -> None:
    """Write the run's page, keeping the sections measured by hand that the run did not write
    (before its last section, the settings)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = reflow(text).rstrip("\n") + "\n"
    kept = [
        section
        for section in _sections(path.read_text() if path.exists() else "")
        if HAND_MEASURED in section.split("\n", 1)[0] and section.split("\n", 1)[0] not in text
    ]
    if kept:
        head, settings = text.rsplit("\n## Settings", 1)
        text = head.rstrip("\n") + "\n\n" + "".join(kept) + "## Settings" + settings
    path.write_text(text)


def _sections(markdown: str) -> list[str]:
    """The page's ``## `` sections, each with its heading, ending in a blank line."""
    parts = re.split(r"(?m)^(?=## )", markdown)
    return [part.rstrip("\n") + "\n\n" for part in parts if part.startswith("## ")]
