#!/usr/bin/env bash
# Makes the secrets the Kubernetes manifests read, with random values:
# k8s/components/namespace/secrets.env, which kustomize's secretGenerator turns into the Secret
# bookinfo-secrets (the session secrets, the banner admin's password, the PostgreSQL password).
# The file is never committed (.gitignore). An existing file is kept, so a running cluster
# keeps working; --force makes new values (then delete the postgres PersistentVolumeClaim:
# PostgreSQL keeps the password it was first started with in its volume).
#
# Usage: scripts/k8s-secrets.sh [--force] [FILE]   (FILE: k8s/components/namespace/secrets.env)
set -euo pipefail

force=false
if [[ "${1:-}" == --force ]]; then force=true; shift; fi
file="${1:-$(cd "$(dirname "$0")/../k8s/components/namespace" && pwd)/secrets.env}"

# 32 random bytes as 64 hex digits: long enough for the session keys (at least 32 bytes), and
# nothing that needs escaping in a database URL.
random_hex() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; }

if ! $force && [[ -e "$file" ]]; then
    echo "kept $file (--force makes new values)"
    exit 0
fi
umask 077
cat >"$file" <<ENV
# Made by scripts/k8s-secrets.sh; read by the secretGenerator of kustomization.yaml beside it.
# Not committed.
SESSION_SECRET=$(random_hex)
BANNER_SESSION_SECRET=$(random_hex)
BANNER_ADMIN_PASSWORD=$(random_hex | head -c 24)
POSTGRES_PASSWORD=$(random_hex)
ENV
echo "wrote $file"
