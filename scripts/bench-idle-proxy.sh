#!/usr/bin/env bash
# bench-idle-proxy.sh: what following the control plane costs an idle sidecar in memory.
#
# Usage: scripts/bench-idle-proxy.sh
#
# Goal (issue 12): an idle proxy's RSS is unchanged by its stream to the control plane.
#
# What it does, in order:
#   1. builds mesh-control and mesh-proxy in release;
#   2. puts two Bookinfo files from k8s/networking in a temporary folder and starts mesh-control
#      on it (127.0.0.1, port 0);
#   3. starts a mesh-proxy with --control-plane (labels app=productpage, version=v1), waits for
#      its /ready, then SETTLE_SECONDS (default 10), and reads its VmRSS from /proc;
#   4. stops both, starts a mesh-proxy with --config-dir on the same folder and a registry file
#      with the same (empty) services the control plane sent, and reads its VmRSS the same way;
#   5. prints both. Everything it starts is stopped, and its files removed, on exit.
# docs/benchmarks.md ("Control plane") has measured figures. Needs Linux (/proc).
set -euo pipefail

settle="${SETTLE_SECONDS:-10}"
[[ "$settle" =~ ^[1-9][0-9]*$ ]] || { echo "bench-idle-proxy.sh: SETTLE_SECONDS='$settle' is not a positive whole number" >&2; exit 2; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { echo "==> $*" >&2; }
die() { echo "bench-idle-proxy.sh: $*" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
stop_all() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
cleanup() {
  stop_all
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# value_of KEY FILE: waits up to 10 s for FILE to hold a `KEY=VALUE` line; prints VALUE.
value_of() {
  for _ in $(seq 100); do
    if [ -s "$2" ] && grep -q "^$1=" "$2"; then sed -n "s/^$1=//p" "$2"; return; fi
    sleep 0.1
  done
  die "no $1= line in $2 within 10 s"
}

# until_ready URL: waits up to 10 s for URL to answer 200.
until_ready() {
  for _ in $(seq 100); do
    curl -fs -o /dev/null "$1" && return
    sleep 0.1
  done
  die "$1 did not answer 200 within 10 s"
}

rss_mb() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

step "building mesh-control and mesh-proxy (release)"
cargo build --release -p mesh-control -p mesh-proxy --bin mesh-control --bin mesh-proxy >&2
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
bin="$target_dir/release"

config="$work/config"
mkdir -p "$config"
cp k8s/networking/destination-rule-all.yaml k8s/networking/virtual-service-all-v1.yaml "$config/"

# idle_rss NAME ARGS...: starts a mesh-proxy with ARGS (and the labels and ports both runs
# share), waits for its /ready and then $settle seconds, and sets `rss` to its VmRSS in MB.
idle_rss() {
  local name="$1"
  shift
  "$bin/mesh-proxy" "$@" --labels app=productpage,version=v1 --outbound 127.0.0.1:0 \
    --admin 127.0.0.1:0 --addr-file "$work/$name.addr" >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  until_ready "http://$(value_of admin "$work/$name.addr")/ready"
  sleep "$settle"
  rss="$(rss_mb "$pid")"
}

step "mesh-control on the Bookinfo files, and a proxy following it"
"$bin/mesh-control" --config-dir "$config" --grpc 127.0.0.1:0 --admin 127.0.0.1:0 \
  --addr-file "$work/control.addr" >"$work/control.log" 2>&1 &
pids+=($!)
idle_rss streamed --control-plane "http://$(value_of grpc "$work/control.addr")"
streamed_mb="$rss"
stop_all

step "a proxy reading the same files"
echo '{"services": []}' >"$work/registry.json"
idle_rss files --config-dir "$config" --registry "$work/registry.json"
files_mb="$rss"

echo
echo "idle mesh-proxy (release), VmRSS ${settle} s after /ready"
printf '%-34s %8s MB\n' "--control-plane (one gRPC stream)" "$streamed_mb" "--config-dir and --registry" "$files_mb"
