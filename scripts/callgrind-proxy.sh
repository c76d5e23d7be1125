#!/usr/bin/env bash
# callgrind-proxy.sh: user-space instructions per request of mesh-proxy, counted by valgrind's
# callgrind. Unlike timings, the count does not depend on what else the machine is doing, so it
# shows whether a change to the request path made it cheaper (docs/benchmarks.md, "What made the
# difference").
#
# Usage: scripts/callgrind-proxy.sh [http1|h2c] [REQUESTS]
#   http1|h2c   the protocol of the requests (default http1)
#   REQUESTS    requests measured (default 2000), over 8 connections
#
# Environment (optional):
#   PROXY=PATH  the mesh-proxy binary to measure (default: built with the `proxy` profile)
#   KEEP=FILE   keep the callgrind output of the measured run there (for callgrind_annotate)
#
# How: the proxy runs twice under callgrind, routing to `sailkit serve details` as in
# scripts/bench-proxy.sh; both runs get the same 100 warm-up requests, the second also REQUESTS
# more. (second total - first total) / REQUESTS is the cost of one request, start-up and warm-up
# taken out. Needs valgrind (apt: valgrind). Every listener binds port 0.
set -euo pipefail

proto="${1:-http1}"
requests="${2:-2000}"
case "$proto" in http1 | h2c) ;; *) echo "callgrind-proxy.sh: the protocol is http1 or h2c" >&2; exit 2 ;; esac
[[ "$requests" =~ ^[1-9][0-9]*$ ]] || { echo "callgrind-proxy.sh: REQUESTS is a positive whole number" >&2; exit 2; }
command -v valgrind >/dev/null 2>&1 || { echo "callgrind-proxy.sh needs valgrind (apt-get install valgrind)" >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
echo "==> building sailkit (release) and mesh-proxy (profile proxy)" >&2
cargo build --release -q -p sailkit
sailkit="$root/target/release/sailkit"
if [ -z "${PROXY:-}" ]; then
  cargo build --profile proxy -q -p mesh-proxy
  PROXY="$root/target/proxy/mesh-proxy"
fi

work="$(mktemp -d -t sailkit-callgrind-XXXXXX)"
upstream_pid=
cleanup() {
  [ -z "$upstream_pid" ] || kill "$upstream_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# until_file FILE: wait (up to 20 s: valgrind starts slowly) until FILE is non-empty.
until_file() {
  for _ in $(seq 1 400); do
    [ -s "$1" ] && return 0
    sleep 0.05
  done
  echo "callgrind-proxy.sh: nothing written to $1" >&2
  exit 1
}

SAILKIT_ADDR_FILE="$work/upstream.addr" RUST_LOG=warn "$sailkit" serve details 0 --bind 127.0.0.1 \
  >"$work/upstream.log" 2>&1 &
upstream_pid=$!
until_file "$work/upstream.addr"
upstream="$(<"$work/upstream.addr")"

mkdir "$work/config"
cat >"$work/config/details.yaml" <<'YAML'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: details
spec:
  hosts: [details]
  http:
    - route:
        - destination: {host: details, subset: v1}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: details
spec:
  host: details
  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  subsets:
    - name: v1
      labels: {version: v1}
YAML
cat >"$work/registry.json" <<JSON
{"services": [{"name": "details", "endpoints": [
  {"address": "$upstream", "labels": {"app": "details", "version": "v1"}}]}]}
JSON

extra=()
[ "$proto" = h2c ] && extra=(--http2)

# instructions COUNT: total instructions of one proxy run that serves 100 + COUNT requests.
instructions() {
  local count="$1" out="$work/callgrind.$1" pid proxy_addr
  rm -f "$work/proxy.addr"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$PROXY" --registry "$work/registry.json" \
    --config-dir "$work/config" --outbound 127.0.0.1:0 --admin 127.0.0.1:0 \
    --addr-file "$work/proxy.addr" >"$work/proxy.log" 2>&1 &
  pid=$!
  until_file "$work/proxy.addr"
  proxy_addr="$(sed -n 's/^outbound=//p' "$work/proxy.addr")"
  "$sailkit" load --threads 1 -c 8 -n 100 "${extra[@]}" -H 'Host: details' \
    "http://$proxy_addr/details/0" >/dev/null
  if [ "$count" -gt 0 ]; then
    "$sailkit" load --threads 1 -c 8 -n "$count" "${extra[@]}" -H 'Host: details' \
      "http://$proxy_addr/details/0" >/dev/null
  fi
  kill -INT "$pid"
  wait "$pid" || true
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done { gsub(",", "", $1); print $1; done = 1 }'
}

echo "==> $proto: a run with the warm-up only, then one with $requests requests more (valgrind is slow)" >&2
baseline="$(instructions 0)"
measured="$(instructions "$requests")"
echo "$proto: $(((measured - baseline) / requests)) instructions per request (runs of $baseline and $measured)"
if [ -n "${KEEP:-}" ]; then
  cp "$work/callgrind.$requests" "$KEEP"
  echo "kept the measured run's profile in $KEEP (callgrind_annotate --inclusive=yes $KEEP)" >&2
fi
