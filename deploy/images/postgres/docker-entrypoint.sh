#!/bin/bash
# The stand-in postgres image's entrypoint: what docker-compose.yml uses of the official
# image's, and nothing more. A first start with an empty PGDATA runs initdb with
# POSTGRES_USER/POSTGRES_PASSWORD, creates POSTGRES_DB, runs /docker-entrypoint-initdb.d/*.sql
# and *.sh on a server that listens on no TCP port (so nobody connects half-initialised), then
# serves on every address with password (scram-sha-256) access from other hosts.
set -Eeuo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
# the init scripts read them, as they do in the official image
export PGDATA POSTGRES_USER POSTGRES_DB

if [[ ${1:-} != postgres ]]; then
    exec "$@"
fi

if [[ $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    if [[ -z ${POSTGRES_PASSWORD:-} ]]; then
        echo "error: the database is not initialised and POSTGRES_PASSWORD is not set" >&2
        exit 1
    fi
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
        --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
        -D "$PGDATA" >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres)
    if [[ $POSTGRES_DB != postgres ]]; then
        "${psql[@]}" -q -c "CREATE DATABASE \"$POSTGRES_DB\""
    fi
    shopt -s nullglob
    for f in /docker-entrypoint-initdb.d/*; do
        case $f in
            *.sh) echo "running $f"; if [[ -x $f ]]; then "$f"; else . "$f"; fi ;;
            *.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -q -f "$f" ;;
            *) echo "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "initialised $PGDATA"
fi

exec "$@" -c listen_addresses='*'
