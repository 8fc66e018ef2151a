#!/usr/bin/env bash
# Starts/stops every local dev service (PostgreSQL, Kafka) in one go.
#
#   eval "$(scripts/dev/services.sh start)"   # start both, export their env
#   scripts/dev/services.sh stop
#   scripts/dev/services.sh status
#   eval "$(scripts/dev/services.sh env)"
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SERVICES=(postgres kafka)

usage() {
    echo "usage: $0 {start|stop|status|env}" >&2
    exit 2
}

case ${1:-} in
    start | env)
        # Env lines of every service on stdout; progress goes to stderr.
        for s in "${SERVICES[@]}"; do
            "$SCRIPT_DIR/$s.sh" "$1"
        done
        ;;
    stop)
        # Stop in reverse order, and try every one even if one fails.
        rc=0
        for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
            "$SCRIPT_DIR/${SERVICES[i]}.sh" stop || rc=1
        done
        exit "$rc"
        ;;
    status)
        rc=0
        for s in "${SERVICES[@]}"; do
            "$SCRIPT_DIR/$s.sh" status || rc=3
        done
        exit "$rc"
        ;;
    *) usage ;;
esac
