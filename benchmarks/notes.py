"""The prose of docs/benchmarks.md: what the rows measure, and per target why and what next."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.common import Measurement, Settings
from benchmarks.report import MINIMUMS


def _ratio(results: dict[str, Measurement], a: str, b: str) -> float:
    if a not in results or b not in results or not results[b].median:
        return math.nan
    return results[a].median / results[b].median


def _r(results: dict[str, Measurement], a: str, b: str) -> str:
    value = _ratio(results, a, b)
    return "-" if math.isnan(value) else f"{value:.2f}x"


def _verdict(status: dict[str, bool], key: str) -> str:
    if key not in status:
        return "not run"
    return "**met**" if status[key] else "**missed**"


def _noise(results: dict[str, Measurement], a: str, b: str, target: float) -> str:
    value = _ratio(results, a, b)
    if not math.isnan(value) and abs(value - target) <= 0.1 * target:
        return (
            f" The ratio is within 10% of {target:g}x, so run-to-run noise (see the spread of "
            "the runs) can tip the verdict either way."
        )
    return ""


def notes(
    results: dict[str, Measurement],
    settings: Settings,
    status: dict[str, bool],
    hand: dict[str, Any],
) -> str:
    w = settings.writers
    r = results
    parts = [
        f"""## What the rows measure

- **Append**: events/s into PostgreSQL. Each event is `Counted(n=i)` (a small JSON payload) on a
  `counter-<uuid>` stream, ten events per stream, every writer on streams of its own, every
  contender on a fresh schema. *Wangge*: `PostgresEventStore.append(stream, [event],
  expected_version=...)` on the library's `create_engine` (pool of {max(16, w)}). *Raw asyncpg*:
  the same rows (uuid7 id, jsonb metadata and data, xid8 default) into an identical `events`
  table, one INSERT per transaction, each writer holding one pooled connection.
  *eventsourcing*: `insert_events` of that library's psycopg 3 recorders; it is synchronous, so
  {w} writers are {w} threads. Its `ApplicationRecorder` is the like-for-like peer (a totally
  ordered log that readers can follow, as our relay follows ours); it takes an EXCLUSIVE table
  lock per insert. Its `AggregateRecorder` keeps no global order. Batched rows write
  {settings.batch} events of one stream per transaction (`append`, asyncpg `executemany` in a
  transaction, one `insert_events` call).
- **Relay**: events/s from the table to a fresh 12-partition topic. `OutboxRelay.pump` (what
  `run` does once active: up to four batches sent ahead of their acknowledgements, checkpoints
  saved in order) over {settings.relay_events:,} pre-filled events. The baseline is a
  `make_producer` producer (idempotent, acks=all) with aiokafka's own partitioner (the relay's
  remembers each stream's murmur2 hash) sending the same keys, values and headers, awaiting
  every ack. Those messages are precomputed by the relay's own `publish_batch` on a recording
  stand-in producer, so the bytes are identical.
- **Memory**: peak RSS (VmHWM, with psutil sampling as a cross-check) of a fresh process running
  `OutboxRelay.run` over {settings.memory_events:,} pre-filled events, and of one running
  `ProjectionRunner` + `KafkaSource` over that topic into a one-table counter on PostgreSQL (one
  upsert per event).
- No OpenTelemetry SDK is configured, so no `traceparent` is recorded and the library skips its
  spans, as in a service without tracing.""",
        "## Verdicts",
    ]

    text = f"""**Append, {w} writers, >= {MINIMUMS["a16es"]:g}x eventsourcing**:
{_verdict(status, "a16es")} ({_r(r, f"ours/{w}", f"es_app/{w}")} the ApplicationRecorder).
Its table lock serialises writers; ours takes none, because readers follow commit order by
`xid8`. Against the lock-free AggregateRecorder, which keeps no order a relay could follow,
ours is at {_r(r, f"ours/{w}", f"es_agg/{w}")}."""
    parts.append(text + _noise(r, f"ours/{w}", f"es_app/{w}", MINIMUMS["a16es"]))

    text = f"""**Append, {w} writers, >= {MINIMUMS["a16raw"]:g}x raw asyncpg**:
{_verdict(status, "a16raw")} ({_r(r, f"ours/{w}", f"raw/{w}")}). With {w} writers the benchmark
process and PostgreSQL share two cores, so the CPU per append decides. A standalone append is one
autocommitted statement (head check, write-order guard and insert), the same round trip as raw
asyncpg. Measured per append (2026-12-08, `time.process_time` and the server processes' CPU):
raw asyncpg 56 µs of Python and 95 µs of PostgreSQL; ours 155 µs and 147 µs before this round.
The stores now hold their connections between lone statements (`wangge.events.store.held`)
instead of checking each out of SQLAlchemy's pool and back in (two greenlet switches, the pool's
bookkeeping and its reset on return): 100 µs of Python, the ratio from 0.52x to this. What is
left: building, validating and encoding the append and its result (about 40 µs over raw), and
PostgreSQL's 50 µs more for the head check and the write-order guard in the same statement (a
single event's values sent as scalars rather than arrays changed nothing measurable)."""
    parts.append(text + _noise(r, f"ours/{w}", f"raw/{w}", MINIMUMS["a16raw"]))

    text = f"""**Append, {settings.batch} events/tx, >= 0.5x raw executemany**:
{_verdict(status, "batch")} ({_r(r, "ours/batch", "raw/batch")}). One statement inserts the
{settings.batch} events from arrays (`unnest`); asyncpg's `executemany` sends {settings.batch}
bound executions."""
    parts.append(text + _noise(r, "ours/batch", "raw/batch", 0.5))

    text = f"""**Relay, >= {MINIMUMS["relay"]:g}x raw producer**: {_verdict(status, "relay")}
({_r(r, "relay", "producer")}; 0.55-0.63x before this round). The raw producer sends
precomputed messages and leaves the partition to aiokafka, which lists the topic's partitions
and hashes every key with a pure-Python murmur2. The relay now makes each message straight from
its row (the metadata's attributes taken out by the server, no envelope in between), names the
partition itself from a remembered murmur2 hash per stream (the same partition, tested against
aiokafka's partitioner), and sends up to four batches ahead of their acknowledgements, saving
each checkpoint in order once everything up to it is acknowledged (it used to wait for every
batch's acknowledgements before reading the next, idle a third of the time). A relay profile
went from 7.8 s to 4.7 s for 100,000 events."""
    parts.append(text + _noise(r, "relay", "producer", MINIMUMS["relay"]))

    parts.append(
        f"""**Memory, each < 150 MB**: relay {_verdict(status, "memrelay")}, projection
{_verdict(status, "memproject")}. Relay: {r["mem_relay"].note if "mem_relay" in r else "-"}.
Projection: {r["mem_project"].note if "mem_project" in r else "-"}. Both work in bounded batches
(1,000 rows for the relay, 500 records for the runner, consumer fetches of at most 8 MB), so RSS
does not grow with the number of events. The projection's speed is set by its handler's one
upsert round trip per event."""
    )
    if not math.isnan(float(hand["relay_peak_mb"])):
        parts.append(
            f"""## 1,000,000 events (measured by hand, {hand["date"]})

Run with `BENCH_MEMORY_EVENTS=1000000 BENCH_ONLY=memory` on this machine, at commit
{hand["commit"]}. The pre-fill took {hand["prefill_seconds"]:.0f} s. The relay peaked at
{hand["relay_peak_mb"]:.0f} MB RSS (from {hand["relay_baseline_mb"]:.0f} MB at start) in
{hand["relay_seconds"]:.0f} s ({1e6 / hand["relay_seconds"]:,.0f} events/s). The Kafka projection
peaked at {hand["project_peak_mb"]:.0f} MB (from {hand["project_baseline_mb"]:.0f} MB) in
{hand["project_seconds"]:.0f} s ({1e6 / hand["project_seconds"]:,.0f} events/s). That is too slow
for the default run, which uses {settings.memory_events:,} events."""
        )
    parts.append(
        """## Before the hot-path changes

At commit 6d700cf, this benchmark measured the following on this machine:

- 16 writers: 1,813 events/s, which is 0.10x raw asyncpg and 1.67x eventsourcing;
- 1 writer: 930 events/s (0.19x raw);
- batched: 0.49x to 0.60x raw;
- relay: 0.46x to 0.47x the raw producer.

Each append then took seven round trips: the pre-ping (BEGIN, `;`, ROLLBACK), BEGIN, the head
SELECT, the INSERT and COMMIT, all through SQLAlchemy. The relay opened a no-op span per event
and decoded and re-encoded every payload.

Commits cd92351, 725e6ff, 7cab8ed and 50a8bdb made these changes:

- a one-statement autocommitted append on the raw asyncpg connection;
- no `pool_pre_ping`;
- the relay passes the recorded JSON through and caches per-type headers;
- spans only when a tracer provider is installed."""
    )
    if "reg_import/1" in r:
        parts.append(_registry(r))
    if "hot_rate" in r or "met_total" in r:
        parts.append(_hotline(r))
    if "trn_total" in r:
        parts.append(_training(r))
    if "vws_rebuild_all" in r or "vws_fresh_p99" in r:
        parts.append(_views(r))
    parts.append(
        """## Settings

`BENCH_SCALE` (default 1) scales every size: relay events (100,000 x scale), memory events
(200,000 x scale; 5 reaches 1,000,000) and seconds per append run (3 x scale, at most 12).
Single knobs:

- `BENCH_SECONDS`, `BENCH_RUNS` (5), `BENCH_WRITERS` (16), `BENCH_BATCH` (100);
- `BENCH_RELAY_EVENTS`, `BENCH_MEMORY_EVENTS`;
- `BENCH_ONLY=append,batch,relay,registry,hotline,metrics,training,views,views_fresh,memory` (a
  partial run does not rewrite this file; `views_fresh` is the heavy one);
- `BENCH_HOTLINE_RATE` (200 tickets/s), `BENCH_HOTLINE_SECONDS` (60), `BENCH_HOTLINE_SUSTAINED`
  (40: a second, gentler phase; 0 for none), `BENCH_HOTLINE_YEAR_TICKETS` (20,000);
- `BENCH_REGISTRY_SIZE` (`full`; `small` for a quick look), `BENCH_REGISTRY_SECONDS` (20),
  `BENCH_REGISTRY_WORKERS` (server processes; default: one per core), `BENCH_REGISTRY_RUNS`
  (3: imports per worker count and paced runs per endpoint, the median reported);
- `BENCH_VIEWS_CARE_PLANS` (300 elderly residents with weekly visits), `BENCH_VIEWS_SECONDS` (20:
  the reads under load), `BENCH_VIEWS_REBUILDS` (1 per view, the fastest reported); the views'
  year takes its size from `BENCH_REGISTRY_SIZE` and `BENCH_HOTLINE_YEAR_TICKETS`, its
  freshness run from `BENCH_HOTLINE_RATE` and `BENCH_HOTLINE_SECONDS`;
- `BENCH_KEEP=1` (keep schemas and topics)."""
    )
    return "\n\n".join(parts) + "\n"


def _registry(r: dict[str, Measurement]) -> str:
    def figure(key: str, digits: int = 0) -> str:
        m = r.get(key)
        return "-" if m is None else f"{m.median:,.{digits}f}"

    return f"""## Registry at full size

**Census import, >= 0.9x the raw batch append with two workers**: {_import_verdict(r)}. The
synthetic 沿江街道 census ({figure("reg_rows")} residents, about 3.9 events each) imports at
{figure("reg_import/1")} residents/s ({figure("reg_import_events/1")} events/s) with one
importer and {figure("reg_import/2")} residents/s ({figure("reg_import_events/2")} events/s)
with two worker processes (each takes whole grids, shared out by row count), against
{figure("raw/batch")} events/s of asyncpg's raw `executemany` of 100-event transactions; these
are medians of several imports (`BENCH_REGISTRY_RUNS`). Every row is validated (identity
number, phone, dates, tags), its personal data sealed with a fresh per-person key, its events
appended in one statement per batch of 2,000 rows (the import's default on PostgreSQL), with
the keys and the identity index in bulk, and the read models written in the same transaction
by COPY. Measured on one importer (2026-12-08, cProfile and the server's CPU): 63 µs of Python
and 26 µs of PostgreSQL per event, against about 60 µs of both per event for the raw batch on
two cores; the Python is spread thin: the People read model's fold 20%, validating the rows
(stdnum's identity check alone 5%) 17%, building and encoding the events and their envelopes
15%, unsealing again in the fold what the importer had just sealed 2.5%. Not met yet: what is
left is that spread, not one hot spot.

**Catch-up after an import, < 5% of the import's time**: {_catch_up_verdict(r)}. The runners
then pass over the imported events once: {figure("reg_catch_up/1", 2)} s after the single
importer, {figure("reg_catch_up/2", 2)} s after the two workers (31-45 s before ADR 0012). Each
batch the import applies inline records its transaction's span of the log, and the runners
step over the spans instead of reading every event again to find it applied.

**Lookups, p99 < 20 ms under 50 clients**: {_lookup_verdict(r)}. After the load the tables
are vacuumed and analysed (as an operator would), the server warms up for 3 s, then, with 50
clients each making 4 requests a second for the measured seconds, a person lookup by identity
number has p50 {figure("reg_lookup_paced_p50", 1)} ms and p99
{figure("reg_lookup_paced_p99", 1)} ms; a household card p50 {figure("reg_card_paced_p50", 1)}
ms and p99 {figure("reg_card_paced_p99", 1)} ms. Each is one query besides the read models'
generations. The server runs one process per core (`wangge registry run --workers N`). Without
pauses it does
{figure("reg_lookup_saturated_rate")} lookups/s and {figure("reg_card_saturated_rate")} cards/s.
The tail comes from stalls with the load generator, the server and PostgreSQL on the same two
cores, and moves by several milliseconds from run to run. Next: measure from another machine."""


def _import_verdict(r: dict[str, Measurement]) -> str:
    ratio = _ratio(r, "reg_import_events/2", "raw/batch")
    if math.isnan(ratio):
        return "not run"
    return f"**{'met' if ratio >= 0.9 else 'missed'}** ({ratio:.2f}x)"


def _catch_up_verdict(r: dict[str, Measurement]) -> str:
    shares = [
        _ratio(r, f"reg_catch_up/{w}", f"reg_import_took/{w}")
        for w in (1, 2)
        if f"reg_catch_up/{w}" in r and f"reg_import_took/{w}" in r
    ]
    if not shares:
        return "not run"
    worst = max(shares)
    return f"**{'met' if worst < 0.05 else 'missed'}** ({worst:.1%} at most)"


def _lookup_verdict(r: dict[str, Measurement]) -> str:
    worst = max(
        (r[k].median for k in ("reg_lookup_paced_p99", "reg_card_paced_p99") if k in r),
        default=math.nan,
    )
    if math.isnan(worst):
        return "not run"
    return "**met**" if worst < 20 else "**missed**"


def _hotline(r: dict[str, Measurement]) -> str:
    def figure(key: str, digits: int = 0) -> str:
        return f"{r[key].median:,.{digits}f}" if key in r else "-"

    intake = "not run"
    if "hot_rate" in r and "hot_inbox_p99" in r:
        met = r["hot_rate"].median >= 196 and r["hot_inbox_p99"].median < 500
        intake = "**met**" if met else "**missed**"
    cpu = r["hot_cpu"].note if "hot_cpu" in r else "-"
    calm = ""
    for key in ("hot_sustained_rate", "hot_sustained_p99"):
        if key in r:
            calm += f" {r[key].label}: {r[key].median:,.0f} {r[key].unit}."
    return f"""## Hotline flow

**Sustained intake, 200 tickets/s for 60 s with p99 push -> inbox < 500 ms**: {intake}. The
registry (small synthetic subdistrict, a worker per grid), the hotline bridge and the cases
service run as three processes on PostgreSQL, talking only through Kafka; an open-loop
generator on the same two cores pushes signed tickets to the subdistrict's dwellings. Offered
{figure("hot_offered")} tickets/s, the bridge took in {figure("hot_rate")} tickets/s (push HTTP
p99 {figure("hot_http_p99")} ms); from the push to the case committed in the grid worker's inbox
p50 {figure("hot_inbox_p50")} ms, p99 {figure("hot_inbox_p99")} ms: push -> ticket recorded p99
{figure("hot_recorded_p99")} ms, ticket recorded -> case committed (relay, Kafka, reaction) p50
{figure("hot_crossed_p50")} ms, p99 {figure("hot_crossed_p99")} ms.{calm} CPU per ticket, all
processes: {figure("hot_cpu", 1)} ms ({cpu}); the two cores give 2,000 ms a second, so 200
tickets/s needs under 10 ms, and a p99 under 500 ms needs headroom below that (each process is
one event loop: queues grow long before the cores are full). Each push is checked and sealed
in its request; pushes that arrive while an intake transaction is open share the next one
(group commit, up to 32, never two at one address): their repeats and exact routes read in one
query each, their events appended in one statement, their keys and read-model rows written once
(the subdistrict's names for routing are remembered for a second; each answer is the ticket's
row reckoned in memory, not read back). Then published; consumed by the cases service, whose
reaction (three consumers side by side, each with its share of the partitions) opens and
assigns up to 32 cases per transaction (the cases it opens read in one query, briefs and each
grid's worker kept for the batch, new cases folded into one write per table, its inline read
model applied once per batch); and published back to the bridge, which files a batch's opened
cases in one insert. Runners and relays wait 25 ms after a batch short of full, so a steady
stream is applied in batches. Next: the relay's read waits for every older open transaction in
the cluster (its commit-order watermark), so one service's long batch delays another's
publication; and the three services measured on separate cores.

**A year of metrics for the full subdistrict, recomputed from the log**:
{figure("met_total", 1)} s. A year of tickets (each received, routed, accepted, replied,
delivered, followed up and closed) is written to a fresh store; the grid map is rebuilt from the
registry's full census ({figure("met_grid_map", 1)} s), the tickets read model from the
hotline's log ({figure("met_tickets", 1)} s), then twelve months of figures per grid and per
community are computed ({figure("met_figures", 1)} s); {figure("met_events")} events
applied. Each batch's place registrations are inserted and derived at once (the parents
outside the batch read in one query) and people's moves folded to each person's last; the
versions a runner has applied are read with one index probe per stream. Before, the grid map
alone took 100 s: a place cost four statements, and PostgreSQL, while a rebuild's new
generation was not analysed yet, answered the `stream_id IN (...)` lookup by scanning the whole
generation, seconds per batch near the end. What is left is mostly Python reading and decoding
the registry's events."""


def _training(r: dict[str, Measurement]) -> str:
    def figure(key: str, digits: int = 1) -> str:
        return f"{r[key].median:,.{digits}f}" if key in r else "-"

    ratio = r["trn_total"].median / r["trn_raw"].median if "trn_raw" in r else float("nan")
    return f"""## Training

**Every training read model rebuilt from a year's log**: {figure("trn_total")} s for
{figure("trn_events", 0)} events, {ratio:,.0f} times reading them raw ({figure("trn_raw", 2)} s).
A year for 169 workers (`wangge.training.synthetic`: sessions twice a month with attendance and
scores, a programme, a handbook in two editions, forums, secondments) is written to PostgreSQL;
each projection is rebuilt into a new generation: sessions and programmes
{figure("trn_training_sessions")} s, xAPI statements {figure("trn_training_statements")} s,
secondments, handbooks and forums {figure("trn_training_development")} s. A runner hands each
batch of 2,000 events to the projection: sessions that start in it are folded in memory and
written once per table; the statements are decided in memory in the events' order (what the
batch needs from earlier ones read first, in a few queries) and written once per table, the
same rows as one event at a time (a test compares both). The raw read is one query per 2,000
events; each rebuild also creates its generation's tables and swaps them in. Next: the same
treatment for secondments, handbooks and forums (one statement per event today)."""


def _views(r: dict[str, Measurement]) -> str:
    def figure(key: str, digits: int = 0) -> str:
        return f"{r[key].median:,.{digits}f}" if key in r else "-"

    def verdict(ok: bool | None) -> str:
        return "not run" if ok is None else "**met**" if ok else "**missed**"

    rebuilds = sorted(k for k in r if k.startswith("vws_rebuild_views_"))
    ratios = {k.removeprefix("vws_rebuild_"): float(r[k].note or "nan") for k in rebuilds}
    each = ", ".join(f"{view} {ratio:.2f}x" for view, ratio in ratios.items()) or "-"
    rebuilt = None if not ratios else all(ratio >= 0.30 for ratio in ratios.values())
    reads = None
    if "vws_resident_p99" in r and "vws_dashboard_p99" in r:
        reads = max(r["vws_resident_p99"].median, r["vws_dashboard_p99"].median) < 50
    fresh = r["vws_fresh_p99"].median < 1000 if "vws_fresh_p99" in r else None
    cpu = r["vws_cpu"].note if "vws_cpu" in r else "-"
    fresh_cpu = r["vws_fresh_cpu"].note if "vws_fresh_cpu" in r else "-"
    return f"""## Views (一网统管)

**Every view rebuilt from Kafka, each at >= 0.30x the raw read of its topics**: {verdict(rebuilt)}
({each}). The full synthetic subdistrict's year goes into four stores: the registry's census,
{figure("vws_records")} records in all with a year of 12345 tickets (each received, routed,
accepted, replied, delivered, followed up and closed), a complaint case per ticket (opened for the
grid's worker as the cases service's reaction does, accepted, resolved, closed), weekly care visits
for residents tagged elderly living alone, and the workers' year of training. Each store is
published to its topic by `OutboxRelay`. The raw read is one aiokafka consumer assigned every
partition of a view's topics (no group to join), counting records from the beginning to the end
offsets: {figure("vws_raw")} records/s for the four topics. Each view is rebuilt as the service's
runner would: `ProjectionRunner.rebuild` over a `KafkaSource` of its topics into a fresh
generation, batches of 2,000, until it has applied everything to the end offsets; its rate is its
topics' records over that time (the runner reads every record of them and applies the types it
handles). A view whose services never share a row (the dashboard, the 360) applies its topics side
by side, a process per core (`docs/adr/0009-rebuilds-side-by-side.md`). All views one after the
other: {figure("vws_rebuild_all")} records/s
({r["vws_rebuild_all"].note if "vws_rebuild_all" in r else "-"}).

**Resident 360 and grid dashboard, p99 < 50 ms under 50 clients x 4 requests/s**: {verdict(reads)}.
The views service runs as its own process on the rebuilt schema (its runners resume from the
offsets kept with the rows); 50 open-loop clients each send 4 requests a second (200/s), half `GET
/residents/{{id}}` for random registered people, half `GET /grids/{{code}}/dashboard` for random
grids, as a subdistrict admin: resident p50 {figure("vws_resident_p50", 1)} ms, p99
{figure("vws_resident_p99", 1)} ms; dashboard p50 {figure("vws_dashboard_p50", 1)} ms, p99
{figure("vws_dashboard_p99", 1)} ms; {figure("vws_rate")} requests/s answered,
{figure("vws_failed")} failed. CPU per request: the views process {figure("vws_cpu", 1)} ms
({cpu}); at 200 requests/s two cores give 10 ms a request in all.

**Freshness, a pushed ticket in its grid's dashboard with p99 < 1 s at 200 tickets/s**:
{verdict(fresh)}. The hotline flow above (registry, hotline bridge, cases) with the views service
as a fourth process; offered {figure("vws_fresh_offered")} tickets/s, {figure("vws_fresh_rate")}
taken in; from the push's send to its ticket's row, with its grid, in the dashboard's tickets
table (polled every 50 ms for the tickets not seen yet): p50 {figure("vws_fresh_p50")} ms, p99
{figure("vws_fresh_p99")} ms (push -> inbox p99 {figure("vws_fresh_inbox_p99")} ms in the same
run). Read through `GET /grids/{{code}}/dashboard` before and after, the month's ticket count moved
in {figure("vws_fresh_moved")} {r["vws_fresh_moved"].note if "vws_fresh_moved" in r else ""}
grids read. CPU per ticket, all processes: {figure("vws_fresh_cpu", 1)} ms ({fresh_cpu}); the intake
alone needs about 9 ms of the 10 ms two cores give at 200 tickets/s."""
