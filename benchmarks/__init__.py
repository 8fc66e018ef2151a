"""`make bench`: Wangge's event store, outbox relay and projections against raw drivers.

Run with ``uv run --frozen python -m benchmarks.run`` (``scripts/bench.sh`` starts the servers).
"""
