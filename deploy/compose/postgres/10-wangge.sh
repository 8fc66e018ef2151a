#!/bin/bash
# A role and a database per service, each owning its own: the services share a server here,
# never tables (DESIGN section 9). Run once, by the postgres image's entrypoint, on an empty
# data folder.
set -euo pipefail
: "${WANGGE_DB_PASSWORD:?WANGGE_DB_PASSWORD is the password of the services roles}"
export PGUSER="${POSTGRES_USER:-postgres}" PGDATABASE=postgres
for service in registry hotline_bridge cases training views; do
    psql -v ON_ERROR_STOP=1 --no-psqlrc -q -v role="$service" -v password="$WANGGE_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
REVOKE ALL ON DATABASE :"role" FROM PUBLIC;
SQL
done
