#!/usr/bin/env bash
# Local stand-ins for the three base images docker-compose.yml names (python, postgres,
# apache/kafka), for a machine that reaches no image registry: one Debian bookworm root file
# system (debootstrap, minbase), with each image's packages added in a chroot, then `docker
# import`ed with the official image's environment, entrypoint and command. Each image is
# tagged with a hash of what it is made from, so an unchanged one is never built twice; the
# root file system is kept under .dev/images between runs.
#
#   scripts/deploy/standins.sh   # prints WANGGE_PYTHON_IMAGE=..., WANGGE_POSTGRES_IMAGE=...,
#                                # WANGGE_KAFKA_IMAGE=... (an env file for docker compose)
set -euo pipefail
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/../.." && pwd)
IMAGES="$REPO/deploy/images"
WORK="$REPO/.dev/images"
BASE="$WORK/base"
MIRROR=${WANGGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

log() { echo "standins.sh: $*" >&2; }

# What a killed run left mounted in a chroot (debootstrap's /proc and /sys, ours): unmounted
# before anything under .dev/images is removed (rm cannot go through a mounted /proc), and on
# the way out, also when .ci/run stops this script because the suite failed (TERM).
release_mounts() {
    local target
    while read -r target; do
        umount -l "$target" 2>/dev/null || true
    done < <(findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r)
}
trap release_mounts EXIT
trap 'exit 143' TERM INT HUP
release_mounts

ensure_base() {
    [[ -s $BASE/.complete ]] && return
    log "debootstrap $SUITE (minbase) into $BASE"
    rm -rf "$BASE.tmp"
    mkdir -p "$WORK"
    debootstrap --variant=minbase "$SUITE" "$BASE.tmp" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
    echo "$SUITE" >"$BASE.tmp/.complete"
    rm -rf "$BASE"
    mv "$BASE.tmp" "$BASE"
}

# the inputs of one image: this script and its folder under deploy/images
key_of() {
    # python has no folder of its own: its inputs are this script alone
    cat "$0" $(find "$IMAGES/$1" -type f 2>/dev/null | sort) | sha256sum | cut -c1-16
}

# apt-get install in a copy of the base, with /proc mounted (the JRE's and PostgreSQL's
# maintainer scripts read it) and no service started (policy-rc.d)
chroot_install() {
    local root=$1
    shift
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod +x "$root/usr/sbin/policy-rc.d"
    mount -t proc proc "$root/proc"
    trap 'umount "'"$root"'/proc" 2>/dev/null || true' RETURN
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    chroot "$root" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >"$root.apt.log" 2>&1 \
        || { tail -n 30 "$root.apt.log" >&2; return 1; }
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d" "$root.apt.log"
    : >"$root/etc/resolv.conf"
}

setup_python() {
    local root=$1
    chroot_install "$root" python3.11 python3-venv ca-certificates
    ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
}
changes_python=(
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'ENV LANG=C.UTF-8'
    --change 'CMD ["python3"]'
)

setup_postgres() {
    local root=$1
    chroot_install "$root" postgresql-15
    # the package's own cluster: the entrypoint makes one in PGDATA instead
    rm -rf "$root/etc/postgresql/15/main" "$root/var/lib/postgresql/15/main"
    mkdir -p "$root/docker-entrypoint-initdb.d" "$root/var/lib/postgresql/data"
    install -m 0755 "$IMAGES/postgres/docker-entrypoint.sh" "$root/usr/local/bin/"
}
changes_postgres=(
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'ENV PGDATA=/var/lib/postgresql/data'
    --change 'ENV LANG=C.UTF-8'
    --change 'VOLUME /var/lib/postgresql/data'
    --change 'EXPOSE 5432'
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]'
    --change 'CMD ["postgres"]'
)

setup_kafka() {
    local root=$1 libs="$WORK/kafka-libs" stamp want
    chroot_install "$root" openjdk-17-jre-headless
    stamp="$libs/.pom.sha256"
    want=$(sha256sum "$IMAGES/kafka/pom.xml" | cut -d' ' -f1)
    if [[ ! -s $stamp || $(<"$stamp") != "$want" ]]; then
        log "resolving the Kafka jars from Maven Central"
        rm -rf "$libs"
        mvn -B -q -f "$IMAGES/kafka/pom.xml" dependency:copy-dependencies \
            -DincludeScope=runtime -DoutputDirectory="$libs" >"$WORK/mvn.log" 2>&1 \
            || { cat "$WORK/mvn.log" >&2; return 1; }
        echo "$want" >"$stamp"
    fi
    mkdir -p "$root"/opt/kafka/{bin,config,libs} "$root/etc/kafka/docker" "$root/var/lib/kafka/data"
    cp "$libs"/*.jar "$root/opt/kafka/libs/"
    install -m 0755 "$IMAGES/kafka/run" "$root/etc/kafka/docker/run"
    install -m 0755 "$IMAGES/kafka/kafka-run-class.sh" "$root/opt/kafka/bin/"
    cp "$IMAGES/kafka/log4j2.xml" "$root/opt/kafka/config/"
    local name class
    # the distribution's scripts that the compose file and the entrypoint call
    while read -r name class; do
        printf '#!/bin/bash\n%sexec /opt/kafka/bin/kafka-run-class.sh %s "$@"\n' \
            "$([[ $name == kafka-server-start.sh ]] || echo 'KAFKA_HEAP_OPTS=-Xmx128m ')" \
            "$class" >"$root/opt/kafka/bin/$name"
        chmod 0755 "$root/opt/kafka/bin/$name"
    done <<'LIST'
kafka-server-start.sh kafka.Kafka
kafka-storage.sh kafka.tools.StorageTool
kafka-topics.sh org.apache.kafka.tools.TopicCommand
kafka-broker-api-versions.sh org.apache.kafka.tools.BrokerApiVersionsCommand
LIST
    chroot "$root" useradd --uid 1000 --user-group --no-create-home --home-dir /opt/kafka appuser
    chroot "$root" chown -R appuser:appuser /opt/kafka/config /var/lib/kafka
}
changes_kafka=(
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    --change 'ENV LANG=C.UTF-8'
    --change 'USER appuser'
    --change 'EXPOSE 9092'
    --change 'CMD ["/etc/kafka/docker/run"]'
)

build() {
    local name=$1 variable=$2 key tag root
    key=$(key_of "$name")
    tag="wangge-standin/$name:$key"
    if ! docker image inspect "$tag" >/dev/null 2>&1; then
        ensure_base
        log "building $tag"
        root="$WORK/$name.rootfs"
        rm -rf "$root"
        cp -a "$BASE" "$root"
        "setup_$name" "$root"
        local -n changes="changes_$name"
        tar --numeric-owner -C "$root" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
        rm -rf "$root"
    fi
    echo "$variable=$tag"
}

build python WANGGE_PYTHON_IMAGE
build postgres WANGGE_POSTGRES_IMAGE
build kafka WANGGE_KAFKA_IMAGE
