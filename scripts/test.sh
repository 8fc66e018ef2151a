#!/usr/bin/env bash
# `make test`: lint, provision PostgreSQL and Kafka (scripts/dev/provision.sh) and the browser
# (scripts/dev/browser.sh), run the unit, integration, e2e and browser tests against them, then
# the services' flows again with every fast path switched off, and stop whatever this run
# started, also on failure.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$SCRIPT_DIR/.."
# shellcheck source=scripts/dev/provision.sh
source scripts/dev/provision.sh

echo "== lint"
make --no-print-directory lint

echo "== services"
provision_services
# the web dashboard's browser tests drive Debian's Chromium (installed here when missing)
eval "$(scripts/dev/browser.sh)"

echo "== tests"
export WANGGE_REQUIRE_SERVICES=1
# the compose stack needs a Docker engine and runs on its own: make test-deploy
# the slowest tests named at the end: where the run's minutes go (.ci/run has 40 in all)
scripts/uv.sh run --frozen pytest -q -m "not deploy" --durations=15 "$@"

if [ $# -eq 0 ]; then
    # every fast path has a slow twin that must leave the same events and rows (DESIGN section
    # 4, docs/adr/0002-0007): the services' flows again, with every one of them switched off
    echo "== slow twins (WANGGE_FAST_PATHS=none)"
    WANGGE_FAST_PATHS=none scripts/uv.sh run --frozen pytest -q -m "not system" \
        services/hotline-bridge/tests services/cases/tests services/registry/tests/handlers \
        services/training/tests/handlers services/views/tests/handlers \
        tests/e2e/hotline_bridge tests/e2e/cases \
        tests/e2e/test_case_assignment_order.py
fi
