#!/usr/bin/env bash
# `make run`: every service on the embedded default (SQLite under ./var/), the registry with a
# small synthetic subdistrict seeded on first start. Ctrl-C stops them all.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$SCRIPT_DIR/.."

pids=()
stop() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM

.venv/bin/wangge hotline-bridge run --port 8002 &
pids+=($!)
.venv/bin/wangge registry run --port 8001 --seed small &
pids+=($!)
.venv/bin/wangge cases run --port 8003 &
pids+=($!)
WANGGE_SEED=year .venv/bin/wangge training run --port 8004 &
pids+=($!)
.venv/bin/wangge views run --port 8005 &
pids+=($!)
# the first service to stop (a crash, a port in use) stops the others
wait -n "${pids[@]}"
