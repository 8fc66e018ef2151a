#!/usr/bin/env bash
# The Docker engine the compose test runs on: Debian's docker.io and docker-compose (and
# debootstrap, for the stand-in base images), installed when missing, and dockerd started as
# root in the background when no engine answers. Idempotent; prints nothing on stdout.
#
#   scripts/deploy/engine.sh start   # install if needed, start if needed, wait for `docker info`
#   scripts/deploy/engine.sh stop    # stop the dockerd this script started (not anyone else's)
#
# The storage driver is overlay2 where the kernel lets a container's layers be mounted that
# way, and vfs (a full copy per layer: slower and bigger, but it works anywhere) where it does
# not; WANGGE_DOCKER_STORAGE_DRIVER chooses by hand.
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
DIR="$REPO/.dev/docker"
PID_FILE="$DIR/dockerd.pid"
LOG="$DIR/dockerd.log"

log() { echo "engine.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

ensure_packages() {
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    ((${#missing[@]} == 0)) && return
    [[ $EUID -eq 0 ]] || die "install ${missing[*]} (root is needed to run dockerd)"
    log "installing ${missing[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

answers() { docker info >/dev/null 2>&1; }

storage_driver() {
    if [[ -n ${WANGGE_DOCKER_STORAGE_DRIVER:-} ]]; then
        echo "$WANGGE_DOCKER_STORAGE_DRIVER"
        return
    fi
    # overlay2 needs an overlay mount on the engine's own folder: try one there
    local probe
    probe=$(mktemp -d /var/lib/wangge-overlay-probe.XXXXXX)
    mkdir -p "$probe"/{lower,upper,work,merged}
    if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
        "$probe/merged" 2>/dev/null; then
        umount "$probe/merged"
        rm -rf "$probe"
        echo overlay2
    else
        rm -rf "$probe"
        echo vfs
    fi
}

start() {
    ensure_packages
    if answers; then
        return
    fi
    [[ $EUID -eq 0 ]] || die "no Docker engine answers, and only root can start dockerd"
    mkdir -p "$DIR"
    local driver i
    driver=$(storage_driver)
    log "starting dockerd (storage driver $driver; log $LOG)"
    # setsid + nohup: the engine outlives this shell; containerd comes with it
    nohup setsid dockerd --storage-driver="$driver" --pidfile="$PID_FILE" \
        ${WANGGE_DOCKERD_OPTIONS:-} >"$LOG" 2>&1 </dev/null &
    for ((i = 0; i < 120; i++)); do
        answers && { log "ready"; return; }
        sleep 0.5
    done
    tail -n 40 "$LOG" >&2
    die "dockerd did not answer within 60 s"
}

stop() {
    [[ -s $PID_FILE ]] || { log "not started here"; return; }
    local pid
    pid=$(<"$PID_FILE")
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
    log "stopped (pid $pid)"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 {start|stop}" >&2; exit 2 ;;
esac
