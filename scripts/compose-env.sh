#!/usr/bin/env bash
# Makes the secrets the compose files read, with random values: docker/.env (the PostgreSQL
# password, the session secrets) and docker/secrets/banner-admin-password (the banner admin's
# password, mounted into the container as a compose secret). Neither is committed (.gitignore).
# An existing file is kept, so a running stack keeps working; --force makes new ones (then
# `down -v`: PostgreSQL keeps the password it was first started with in its volume).
#
# Usage: scripts/compose-env.sh [--force] [DIR]   (DIR: docker/ by default)
set -euo pipefail

force=false
if [[ "${1:-}" == --force ]]; then force=true; shift; fi
dir="${1:-$(cd "$(dirname "$0")/../docker" && pwd)}"
shown="${1:-docker}" # how the messages name the folder: as given, or docker/ of the repository

# 32 random bytes as 64 hex digits: long enough for the session keys (at least 32 bytes), and
# nothing that needs escaping in a database URL.
random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

umask 077
if $force || [[ ! -e "$dir/.env" ]]; then
    cat >"$dir/.env" <<ENV
# Made by scripts/compose-env.sh; read by docker-compose --env-file docker/.env. Not committed.
COMPOSE_PROJECT_NAME=sailkit
POSTGRES_PASSWORD=$(random_hex)
SESSION_SECRET=$(random_hex)
BANNER_SESSION_SECRET=$(random_hex)
ENV
    echo "wrote $shown/.env"
fi
if $force || [[ ! -e "$dir/secrets/banner-admin-password" ]]; then
    mkdir -p "$dir/secrets"
    random_hex | head -c 24 >"$dir/secrets/banner-admin-password"
    # The folder is yours alone (0700); the file is readable by the container's non-root user,
    # which does not own it.
    chmod 644 "$dir/secrets/banner-admin-password"
    echo "wrote $shown/secrets/banner-admin-password"
fi
