#!/usr/bin/env bash
# Part of `make sync`: the web dashboard's third-party assets (Apache ECharts for the views
# service's pages, axe-core for the browser tests' accessibility check), installed from the npm
# registry exactly as services/views/frontend/package-lock.json pins them, and the served ones
# copied into the views service's static folder. Nothing is fetched from a CDN at run time.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$SCRIPT_DIR/.."

FRONTEND=services/views/frontend
VENDOR=services/views/src/wangge/views/web/static/vendor
# npm ci empties node_modules first: run it only when the lock file changed since the last one
if [ ! -f "$FRONTEND/node_modules/.package-lock.json" ] \
    || [ "$FRONTEND/package-lock.json" -nt "$FRONTEND/node_modules/.package-lock.json" ]; then
    if ! command -v npm >/dev/null; then
        [ "$EUID" -eq 0 ] || { echo "npm is needed for the web dashboard's assets" >&2; exit 1; }
        echo "web-assets: npm not found; installing Debian's npm with apt-get" >&2
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    npm ci --prefix "$FRONTEND" --ignore-scripts --no-audit --no-fund --loglevel=error
fi
mkdir -p "$VENDOR"
cp -p "$FRONTEND/node_modules/echarts/dist/echarts.min.js" "$VENDOR/echarts.min.js"
cp -p "$FRONTEND/node_modules/echarts/LICENSE" "$VENDOR/echarts.LICENSE"
