# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/bench.sh: provision PostgreSQL and Kafka for one run.
#
#   source scripts/dev/provision.sh
#   provision_services      # exports DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS
#
# A variable that is already set points at a server someone else runs: it is used as it is.
# A dev server that is already running (another checkout's tests, `make services-start`) is
# reused and left running. Only what this run started is stopped when the calling script exits,
# whether it succeeds or fails.

_wangge_started=()

_wangge_release_services() {
    local service
    for service in "${_wangge_started[@]}"; do
        scripts/dev/"$service".sh stop >&2 || true
    done
}

provision_services() {
    local service variable
    trap _wangge_release_services EXIT
    for service in postgres kafka; do
        case $service in
            postgres) variable=DATABASE_URL ;;
            kafka) variable=KAFKA_BOOTSTRAP_SERVERS ;;
        esac
        if [ -n "${!variable:-}" ]; then
            continue
        fi
        if ! scripts/dev/"$service".sh status >/dev/null 2>&1; then
            _wangge_started+=("$service")
        fi
        eval "$(scripts/dev/"$service".sh start)"
    done
    echo "DATABASE_URL=$DATABASE_URL" >&2
    echo "KAFKA_BOOTSTRAP_SERVERS=$KAFKA_BOOTSTRAP_SERVERS" >&2
}
