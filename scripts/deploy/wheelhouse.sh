#!/usr/bin/env bash
# `make wheelhouse`: every wheel the image needs, so that the Dockerfile builds with no network
# at all (an air-gapped data centre, 政务内网: `docker build --network=none --build-arg
# WHEELHOUSE=.dev/wheelhouse`). The third-party wheels are the lock's exact versions (uv export
# --frozen), for Linux x86_64 and CPython 3.11, fetched again only when uv.lock changes; the
# workspace's own packages are built as wheels on every run, since their sources change often.
# The replay's compiled part (wangge-replay-native) is left out: no service needs it, and the
# replay runs on its pure-Python twin without it.
#
#   scripts/deploy/wheelhouse.sh [OUT]   # default .dev/wheelhouse; prints OUT
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$SCRIPT_DIR/../.."
OUT=${1:-.dev/wheelhouse}
UV=scripts/uv.sh
# the workspace's packages, in no particular order: pip installs them with --no-deps
PACKAGES=(wangge-events wangge-service wangge-governance wangge-registry wangge-hotline-bridge
    wangge-cases wangge-training wangge-views wangge-replay)

log() { echo "wheelhouse.sh: $*" >&2; }

mkdir -p "$OUT"
want=$(cat uv.lock "$0" | sha256sum | cut -d' ' -f1)
if [[ ! -s $OUT/deps/.stamp || $(<"$OUT/deps/.stamp") != "$want" ]]; then
    log "fetching the lock's wheels (uv.lock changed or first run)"
    rm -rf "$OUT/deps.tmp"
    mkdir -p "$OUT/deps.tmp"
    "$UV" export --frozen --no-dev --no-hashes --no-emit-workspace --no-header --no-annotate \
        --quiet -o "$OUT/deps.tmp/requirements.txt"
    # pip wheel, not pip download: a package published only as an sdist is built here, once,
    # so the image's build never needs a compiler or the network
    python3 -m pip wheel --quiet --no-deps --wheel-dir "$OUT/deps.tmp" \
        -r "$OUT/deps.tmp/requirements.txt"
    echo "$want" >"$OUT/deps.tmp/.stamp"
    rm -rf "$OUT/deps"
    mv "$OUT/deps.tmp" "$OUT/deps"
fi

rm -rf "$OUT/workspace"
mkdir -p "$OUT/workspace"
for package in "${PACKAGES[@]}"; do
    "$UV" build --quiet --wheel --package "$package" --out-dir "$OUT/workspace" 2>/dev/null \
        || "$UV" build --wheel --package "$package" --out-dir "$OUT/workspace"
done
rm -f "$OUT"/workspace/.gitignore
echo "$OUT"
