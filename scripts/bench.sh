#!/usr/bin/env bash
# `make bench`: start PostgreSQL and Kafka (unless DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS already
# point at servers), run every benchmark in benchmarks/, print the tables, write
# docs/benchmarks.md, and stop whatever this script started, also when a benchmark fails.
# Sizes: BENCH_SCALE and friends, see docs/benchmarks.md.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$SCRIPT_DIR/.."
UV=scripts/uv.sh

# shellcheck source=scripts/dev/provision.sh
source scripts/dev/provision.sh
echo "== services" >&2
provision_services

"$UV" run --frozen python -m benchmarks.run "$@"
