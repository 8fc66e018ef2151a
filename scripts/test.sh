#!/usr/bin/env bash
# `make test`: lint, start PostgreSQL and Kafka (unless DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS
# already point at servers), run unit, integration and e2e tests, and stop whatever this script
# started, also when the tests fail.
set -euo pipefail
cd "$(git rev-parse --show-toplevel 2>/dev/null || dirname "$0"/..)"
UV=scripts/uv.sh

echo "== lint"
make --no-print-directory lint

started=()
cleanup() {
    for service in "${started[@]}"; do
        scripts/dev/"$service".sh stop >&2 || true
    done
}
trap cleanup EXIT

echo "== services"
if [ -z "${DATABASE_URL:-}" ]; then
    eval "$(scripts/dev/postgres.sh start)"
    started+=(postgres)
fi
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    eval "$(scripts/dev/kafka.sh start)"
    started+=(kafka)
fi
echo "DATABASE_URL=$DATABASE_URL"
echo "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS"

echo "== tests"
export WANGGE_REQUIRE_SERVICES=1
"$UV" run --frozen pytest -q "$@"
