#!/usr/bin/env bash
# `make test-deploy`: the compose stack brought up for real. Starts the Docker engine
# (scripts/deploy/engine.sh), builds the stand-in base images (scripts/deploy/standins.sh) and
# the wheelhouse (scripts/deploy/wheelhouse.sh), builds the services' image from the wheelhouse
# with no network, as an air-gapped data centre would, then runs tests/deploy/test_compose_*,
# which brings the stack up and down again. Every step keeps what it made for the next run.
#
#   scripts/deploy/test.sh            # all of it (make test-deploy)
#   scripts/deploy/test.sh prepare    # the engine and the images only (.ci/run starts it while
#                                     # make test runs: it is mostly downloads and disk)
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$SCRIPT_DIR/../.."
mkdir -p .dev/deploy

echo "== engine"
scripts/deploy/engine.sh start

echo "== stand-in base images"
scripts/deploy/standins.sh >.dev/deploy/standins.env
cat .dev/deploy/standins.env
set -a
# shellcheck source=/dev/null
source .dev/deploy/standins.env
set +a

echo "== image (no network)"
scripts/deploy/wheelhouse.sh >/dev/null
docker build --quiet --network=none --build-arg WHEELHOUSE=yes \
    --build-arg PYTHON_IMAGE="$WANGGE_PYTHON_IMAGE" -t "wangge:${WANGGE_VERSION:-0.1.0}" . >/dev/null
# layers of earlier builds that no tag names any more
docker image prune --force >/dev/null

if [ "${1:-}" = prepare ]; then
    exit 0
fi

echo "== tests"
scripts/uv.sh run --frozen pytest -q -m deploy tests/deploy "$@"
