#!/usr/bin/env bash
# Deletes the kind cluster that scripts/kind-up.sh made ($KIND_CLUSTER, default sailkit), with
# everything in it (the PostgreSQL volume included). The images stay in Docker.
#
# Usage: scripts/kind-down.sh
set -euo pipefail

cluster="${KIND_CLUSTER:-sailkit}"
command -v kind >/dev/null || { echo "kind-down: needs kind on PATH" >&2; exit 1; }
if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
    kind delete cluster --name "$cluster"
else
    echo "kind-down: no kind cluster $cluster"
fi
