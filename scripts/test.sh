#!/usr/bin/env bash
# `make test`: lint, provision PostgreSQL and Kafka (scripts/dev/provision.sh), run the unit,
# integration and e2e tests against them, and stop whatever this run started, also on failure.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$SCRIPT_DIR/.."
# shellcheck source=scripts/dev/provision.sh
source scripts/dev/provision.sh

echo "== lint"
make --no-print-directory lint

echo "== services"
provision_services

echo "== tests"
export WANGGE_REQUIRE_SERVICES=1
scripts/uv.sh run --frozen pytest -q "$@"
