#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for local development and tests, under
# $WANGGE_DEV_DIR/postgres (data/, postgres.log, port); WANGGE_DEV_DIR defaults
# to $REPO/.dev, and another folder gives another cluster of its own (the
# system tests start one that they may stop and crash without disturbing this one).
#
#   scripts/dev/postgres.sh start            # idempotent; prints the env lines on stdout
#   scripts/dev/postgres.sh stop [MODE]      # idempotent; MODE fast (default) or
#                                            # immediate (no checkpoint: a crash, recovered at start)
#   scripts/dev/postgres.sh status           # exit 0 if running, 3 if not
#   scripts/dev/postgres.sh env              # eval "$(scripts/dev/postgres.sh env)"
#
# If DATABASE_URL already points elsewhere, start/env reuse it. As root the
# server runs as the `postgres` user (PostgreSQL refuses to run as root); if
# that user cannot reach the dev folder (e.g. it is under /root, mode 700), the
# cluster lives in /tmp/wangge-dev-<hash of the path>/postgres instead and
# <dev folder>/postgres is a symlink to it.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Fall back to the path layout when not run from a git checkout (e.g. a tarball).
REPO=$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/../.." && pwd))

DB_NAME=wangge
PG_SUPERUSER=postgres
if [[ -n ${WANGGE_DEV_DIR:-} ]]; then
    DEV_DIR=$(realpath -m "$WANGGE_DEV_DIR")
    FALLBACK_KEY=$DEV_DIR
else
    DEV_DIR="$REPO/.dev"
    FALLBACK_KEY=$REPO # the name it always had, so an existing fallback is found again
fi
LINK="$DEV_DIR/postgres"
REPO_HASH=$(printf '%s' "$FALLBACK_KEY" | sha256sum | cut -c1-12)
FALLBACK_BASE="/tmp/wangge-dev-$REPO_HASH"

# Set by resolve_dirs / find_pg_bin.
PG_DIR="" DATA="" LOG_FILE="" PORT_FILE="" PG_BIN=""

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Runs a command as the OS user that owns the cluster. cd / because the
# postgres user may not be allowed into the caller's working directory.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Can the server's OS user create files in $1 (this also needs search
# permission on every parent directory)?
pg_can_use() {
    as_pg test -d "$1" -a -w "$1" -a -x "$1"
}

# Fills PG_DIR and the paths inside it. With create=1 it makes the directory
# (or the /tmp fallback); otherwise it only looks, and fails if there is none.
resolve_dirs() {
    local create=${1:-0}
    if [[ -L $LINK ]]; then
        PG_DIR=$(readlink -m "$LINK")
        # /tmp may have been cleaned since; the cluster is throwaway anyway.
        if [[ $create == 1 && ! -d $PG_DIR ]]; then
            make_fallback_dir "$PG_DIR"
        fi
    elif [[ $create == 1 ]]; then
        mkdir -p "$LINK"
        if [[ $EUID -eq 0 ]]; then
            chown postgres: "$LINK"
            chmod 700 "$LINK"
        fi
        if pg_can_use "$LINK"; then
            PG_DIR=$LINK
        else
            log "user postgres cannot reach $LINK (a parent directory is not searchable);"
            log "using $FALLBACK_BASE/postgres instead, linked from $LINK"
            # Unusable by the server, so nothing in it can be a live cluster.
            rm -rf "$LINK"
            make_fallback_dir "$FALLBACK_BASE/postgres"
            ln -s "$FALLBACK_BASE/postgres" "$LINK"
            PG_DIR="$FALLBACK_BASE/postgres"
        fi
    elif [[ -d $LINK ]]; then
        PG_DIR=$LINK
    else
        return 1
    fi
    DATA="$PG_DIR/data"
    LOG_FILE="$PG_DIR/postgres.log"
    PORT_FILE="$PG_DIR/port"
}

make_fallback_dir() {
    local dir=$1 base
    base=$(dirname "$dir")
    mkdir -p "$base"
    # /tmp is shared: refuse a directory someone else planted there.
    [[ ! -L $base && $(stat -c %u "$base") == "$EUID" ]] || die "$base is not owned by $(id -un); remove it"
    chmod 755 "$base"
    mkdir -p "$dir"
    if [[ $EUID -eq 0 ]]; then
        chown postgres: "$dir"
    fi
    chmod 700 "$dir"
    pg_can_use "$dir" || die "user postgres cannot use $dir either"
}

# Server binaries: pg_ctl/initdb on PATH first, else the newest
# /usr/lib/postgresql/*/bin. With install=1, apt-get installs them if missing.
find_pg_bin() {
    local install=${1:-0} ctl dirs
    if command -v pg_ctl >/dev/null && command -v initdb >/dev/null; then
        # Follow symlinks (e.g. /usr/local/bin/pg_ctl) to the real bin dir,
        # where postgres, pg_isready, psql and createdb live too.
        ctl=$(readlink -f "$(command -v pg_ctl)")
        PG_BIN=$(dirname "$ctl")
        [[ -x $PG_BIN/postgres ]] && return 0
    fi
    dirs=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin 2>/dev/null | sort -V | tail -n 1)
    if [[ -n $dirs && -x $dirs/pg_ctl && -x $dirs/postgres ]]; then
        PG_BIN=$dirs
        return 0
    fi
    [[ $install == 1 ]] || return 1
    [[ $EUID -eq 0 ]] || die "PostgreSQL server binaries not found; install the postgresql package"
    log "PostgreSQL server not found; installing it with apt-get"
    # The package's own cluster (port 5432) is harmless; this script never uses it.
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    find_pg_bin 0 || die "apt-get installed postgresql but no server binaries were found"
}

pg_major() {
    "$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/'
}

# A data dir made by another major version cannot be started by this one:
# use that version's binaries if installed, else start over (it is throwaway).
match_data_version() {
    [[ -s $DATA/PG_VERSION ]] || return 0
    local want
    want=$(<"$DATA/PG_VERSION")
    [[ $(pg_major) == "$want" ]] && return 0
    if [[ -x /usr/lib/postgresql/$want/bin/postgres ]]; then
        PG_BIN=/usr/lib/postgresql/$want/bin
    else
        log "data dir is from PostgreSQL $want, binaries are $(pg_major); re-initialising"
        rm -rf "$DATA"
    fi
}

# shellcheck source=scripts/dev/ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

port() { cat "$PORT_FILE"; }

url() { echo "postgresql+asyncpg://$PG_SUPERUSER@127.0.0.1:$(port)/$DB_NAME"; }

env_lines() {
    cat <<EOF
export DATABASE_URL=$(url)
export PGHOST=127.0.0.1
export PGPORT=$(port)
export PGUSER=$PG_SUPERUSER
export PGDATABASE=$DB_NAME
EOF
}

# An outside DATABASE_URL (not the one this script prints) wins.
external_db() {
    [[ -n ${DATABASE_URL:-} ]] || return 1
    if resolve_dirs 0 && [[ -s $PORT_FILE && $DATABASE_URL == "$(url)" ]]; then
        return 1
    fi
    return 0
}

is_running() {
    [[ -n $DATA && -s $DATA/PG_VERSION ]] || return 1
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# Unix sockets paths are limited to ~107 bytes; a deep checkout gets a short
# socket dir in /tmp instead.
socket_dir() {
    local dir="$PG_DIR/run" port=$1
    if ((${#dir} + ${#port} + 11 > 100)); then
        dir="$FALLBACK_BASE-run"
    fi
    echo "$dir"
}

# Settings that may change per start (port, socket dir) plus test-friendly
# tuning; included from postgresql.conf, rewritten on every start.
write_conf() {
    local port=$1 sock=$2 conf="$DATA/wangge-dev.conf"
    cat >"$conf" <<EOF
# Generated by scripts/dev/postgres.sh on every start; edits are overwritten.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
# Tests open many pools in parallel.
max_connections = 200
shared_buffers = 128MB
# fsync/synchronous_commit stay ON: benchmarks run against this server and
# must pay the real commit cost of an event store.
fsync = on
synchronous_commit = on
full_page_writes = on
# Quiet log: warnings and errors only.
log_min_messages = warning
log_line_prefix = '%m [%p] %d '
EOF
    [[ $EUID -ne 0 ]] || chown postgres: "$conf"
}

init_cluster() {
    log "initialising cluster in $DATA"
    as_pg "$PG_BIN/initdb" -D "$DATA" -A trust -U "$PG_SUPERUSER" --encoding=UTF8 --no-locale \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    echo "include_if_exists = 'wangge-dev.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
}

psql_q() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(port)" -U "$PG_SUPERUSER" -d postgres -tAc "$1"
}

start() {
    if external_db; then
        log "DATABASE_URL is already set ($DATABASE_URL); reusing it, not starting a server"
        return
    fi
    find_pg_bin 1
    resolve_dirs 1
    match_data_version
    if is_running; then
        log "already running on 127.0.0.1:$(port) (data $DATA)"
        env_lines
        return
    fi
    [[ -s $DATA/PG_VERSION ]] || init_cluster

    local port sock i
    port=$(pick_port "$PORT_FILE")
    sock=$(socket_dir "$port")
    as_pg mkdir -p "$sock" 2>/dev/null || { mkdir -p "$sock" && chown postgres: "$sock"; }
    write_conf "$port" "$sock"

    log "starting PostgreSQL $(pg_major) on 127.0.0.1:$port"
    # 9>&-: the postmaster must not inherit (and so hold forever) the start/stop lock.
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG_FILE" -w -t 60 -s start 9>&- \
        || { tail -n 30 "$LOG_FILE" >&2 || true; die "pg_ctl start failed"; }
    for ((i = 0; i < 60; i++)); do
        "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_SUPERUSER" -d postgres && break
        sleep 0.5
    done
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_SUPERUSER" -d postgres \
        || { tail -n 30 "$LOG_FILE" >&2 || true; die "server not accepting connections"; }

    if [[ -z $(psql_q "select 1 from pg_database where datname = '$DB_NAME'") ]]; then
        psql_q "create database $DB_NAME" >/dev/null
        log "created database $DB_NAME"
    fi
    log "ready after ${SECONDS}s (data $DATA)"
    env_lines
}

stop() {
    local mode=${1:-fast}
    [[ $mode == fast || $mode == immediate ]] || die "stop mode must be fast or immediate, not $mode"
    if ! find_pg_bin 0 || ! resolve_dirs 0 || ! is_running; then
        log "not running"
        return
    fi
    # -w: returns once the postmaster is gone (its pid file removed), so the port is free.
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m "$mode" -w -t 60 -s stop
    log "stopped ($mode)"
}

status() {
    if find_pg_bin 0 && resolve_dirs 0 && is_running; then
        echo "postgres: running on 127.0.0.1:$(port) (data $DATA)"
        return 0
    fi
    if external_db; then
        echo "postgres: not running here; DATABASE_URL=$DATABASE_URL is set and reused"
    else
        echo "postgres: not running"
    fi
    return 3
}

print_env() {
    if external_db; then
        echo "# DATABASE_URL is already set ($DATABASE_URL); reusing it"
        return
    fi
    if ! find_pg_bin 0 || ! resolve_dirs 0 || ! is_running; then
        die "not running; run: scripts/dev/postgres.sh start"
    fi
    env_lines
}

main() {
    local cmd=${1:-}
    case $cmd in
        start | stop)
            mkdir -p "$DEV_DIR"
            # One start/stop at a time (e.g. parallel test jobs).
            exec 9>"$DEV_DIR/postgres.lock"
            flock 9
            if [[ $cmd == start ]]; then start; else stop "${2:-fast}"; fi
            ;;
        status) status ;;
        env) print_env ;;
        *)
            echo "usage: $0 {start|stop [fast|immediate]|status|env}" >&2
            exit 2
            ;;
    esac
}

main "$@"
