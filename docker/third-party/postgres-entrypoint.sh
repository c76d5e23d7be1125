#!/bin/bash
# The PostgreSQL image's entrypoint: at the first start (an empty data volume) it makes the
# cluster with the password of POSTGRES_PASSWORD for POSTGRES_USER (default postgres), creates
# POSTGRES_DB if given, and runs /docker-entrypoint-initdb.d/*.sql, one statement a line, the
# variables the official postgres image reads, so a compose file works with either image.
# Then it becomes the server (exec: PID 1, so `docker stop` reaches it).
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
user="${POSTGRES_USER:-postgres}"

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    if [[ -z "${POSTGRES_PASSWORD:-}" ]]; then
        echo "postgres-entrypoint: POSTGRES_PASSWORD is empty; set it (docker/.env)" >&2
        exit 64
    fi
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >/dev/null
    rm -f "$pwfile"
    # Other containers connect over the compose network, with the password.
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    single() { postgres --single -D "$PGDATA" postgres >/dev/null; }
    if [[ -n "${POSTGRES_DB:-}" && "$POSTGRES_DB" != postgres ]]; then
        echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$user\"" | single
    fi
    for file in /docker-entrypoint-initdb.d/*.sql; do
        [[ -e "$file" ]] || continue
        echo "postgres-entrypoint: running $file"
        grep -v '^[[:space:]]*\(--.*\)\?$' "$file" | single
    done
    echo "postgres-entrypoint: cluster made in $PGDATA"
fi

# jit=off: the image leaves LLVM out.
exec postgres -D "$PGDATA" -c listen_addresses='*' -c jit=off "$@"
