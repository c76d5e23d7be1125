#!/usr/bin/env bash
# bench-control.sh: the control plane (mesh-control) with many proxies connected: how fast a
# config change reaches them all, and what the control plane costs in memory and CPU.
#
# Usage: scripts/bench-control.sh [PROXY_COUNT...]     (default: 10 100 1000)
#
# Environment (all optional):
#   ROUNDS=5            config changes measured per proxy count (median and max reported)
#   PER_CONNECTION=50   simulated proxies sharing one HTTP/2 connection
#   IDLE_SECONDS=5      how long the idle CPU is measured, proxies connected, nothing changing
#   CHANGE=api          how each change is made: `api`, through the control plane's Config API
#                       (Apply, what `sailkit apply` sends); `folder`, a file renamed into its
#                       --config-dir and found by the folder poll (every 500 ms)
#   DECODE="full versions"
#                       how the simulated proxies decode snapshots, one row per mode: `full`,
#                       whole snapshots as a proxy does (with the generated client); `versions`,
#                       only the version fields, which takes most of their work off the shared
#                       cores (real proxies decode on their own machines)
#
# Goals (issue 12), on a 2-core machine:
#   - 1,000 proxies converge in under 1 s after a change: from the Apply call (CHANGE=api) or
#     the file landing in the folder (CHANGE=folder) until every proxy has received the
#     snapshot with the new config_version. That includes the debounce (100 ms) and the push,
#     and with CHANGE=folder the folder poll (every 500 ms, so 250 ms on average);
#   - the control plane stays under 100 MB RSS with 1,000 proxies connected;
#   - (an idle proxy's RSS is unchanged by its stream: scripts/bench-idle-proxy.sh.)
#
# What it does, in order:
#   1. builds mesh-control and the driver, mesh/control/examples/bench_proxies.rs, in release;
#   2. for each proxy count, starts a fresh mesh-control on 127.0.0.1 port 0 (--addr-file says
#      which port), with a temporary --config-dir holding two Bookinfo files from k8s/networking;
#   3. runs the driver: it opens the proxies on real gRPC streams (one connection per
#      PER_CONNECTION of them), each registering and ACKing every snapshot, then ROUNDS times
#      changes a VirtualService's weight (CHANGE) and times the convergence; it reads the
#      control plane's VmRSS and utime+stime from /proc (see the driver's module docs), once
#      per DECODE mode, each on a fresh control plane;
#   4. stops that control plane, and at the end prints the table.
# The driver runs on the same cores as the control plane: its own work (decoding every
# snapshot N times) is part of what the convergence time measures; its CPU has a column, and
# DECODE=versions shows the figures with most of it gone. Everything it starts is
# stopped and its temporary files removed on exit, even on Ctrl-C. docs/benchmarks.md
# ("Control plane") has measured figures. Needs Linux (/proc).
set -euo pipefail

if [ "$#" -gt 0 ]; then counts=("$@"); else counts=(10 100 1000); fi
rounds="${ROUNDS:-5}"
per_connection="${PER_CONNECTION:-50}"
idle_seconds="${IDLE_SECONDS:-5}"
read -r -a decodes <<<"${DECODE:-full versions}"
change="${CHANGE:-api}"
case "$change" in api | folder) ;; *) echo "bench-control.sh: CHANGE is api or folder" >&2; exit 2 ;; esac
for decode in "${decodes[@]}"; do
  case "$decode" in full | versions) ;; *) echo "bench-control.sh: DECODE holds full and/or versions" >&2; exit 2 ;; esac
done
for n in "${counts[@]}" "$rounds" "$per_connection" "$idle_seconds"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-control.sh: '$n' is not a positive whole number (see the usage at the top of the script)" >&2; exit 2; }
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { echo "==> $*" >&2; }
# die MESSAGE [LOG]: stop with a message and the last lines of LOG, when given.
die() {
  echo "bench-control.sh: $1" >&2
  if [ -n "${2:-}" ] && [ -s "$2" ]; then
    echo "--- last lines of $2:" >&2
    tail -n 20 "$2" >&2
  fi
  exit 1
}

work="$(mktemp -d)"
control_pid=""
stop_control() {
  if [ -n "$control_pid" ]; then
    kill -TERM "$control_pid" 2>/dev/null || true
    wait "$control_pid" 2>/dev/null || true
    control_pid=""
  fi
}
cleanup() {
  stop_control
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Each connection is one descriptor on both sides; raise the soft limit to the hard one for
# runs with many connections (PER_CONNECTION=1).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

step "building mesh-control and bench_proxies (release)"
cargo build --release -p mesh-control --bin mesh-control --example bench_proxies >&2
target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
control_bin="$target_dir/release/mesh-control"
driver_bin="$target_dir/release/examples/bench_proxies"
clock_ticks="$(getconf CLK_TCK)"

results=()
for n in "${counts[@]}"; do
  for decode in "${decodes[@]}"; do
    config_dir="$work/config-$n-$decode"
    mkdir -p "$config_dir"
    cp k8s/networking/destination-rule-all.yaml k8s/networking/virtual-service-all-v1.yaml "$config_dir/"
    addr_file="$work/addr-$n-$decode"
    log="$work/control-$n-$decode.log"
    step "$n proxies, $decode decoding: starting mesh-control"
    "$control_bin" --config-dir "$config_dir" --grpc 127.0.0.1:0 --admin 127.0.0.1:0 \
      --addr-file "$addr_file" >"$log" 2>&1 &
    control_pid=$!
    for _ in $(seq 100); do
      [ -s "$addr_file" ] && break
      kill -0 "$control_pid" 2>/dev/null || die "mesh-control exited at start" "$log"
      sleep 0.1
    done
    [ -s "$addr_file" ] || die "mesh-control wrote no --addr-file within 10 s" "$log"
    grpc="$(sed -n 's/^grpc=//p' "$addr_file")"
    versions_only=""
    [ "$decode" = full ] || versions_only=yes

    step "$n proxies: connecting them, then $rounds config changes"
    line="$("$driver_bin" --grpc "$grpc" --config-dir "$config_dir" --pid "$control_pid" \
      --proxies "$n" --per-connection "$per_connection" --rounds "$rounds" \
      --idle-seconds "$idle_seconds" --clock-ticks "$clock_ticks" --change "$change" \
      ${versions_only:+--versions-only})" ||
      die "the driver failed with $n proxies" "$log"
    results+=("decode=$decode $line")
    stop_control
  done
done

echo
echo "sailkit control plane benchmark ($rounds changes per row through the $change, $per_connection proxies per connection, $(nproc) cores)"
printf '%8s  %8s  %14s  %12s  %8s  %12s  %19s  %13s\n' proxies decode "converge p50" "converge max" "RSS MB" "CPU s/change" "driver CPU s/change" "idle CPU s/${idle_seconds}s"
for line in "${results[@]}"; do
  # The driver prints key=value pairs.
  declare -A r=()
  for pair in $line; do r[${pair%%=*}]="${pair#*=}"; done
  printf '%8s  %8s  %11s ms  %9s ms  %8s  %12s  %19s  %13s\n' \
    "${r[proxies]}" "${r[decode]}" "${r[median_ms]}" "${r[max_ms]}" "${r[rss_mb]}" "${r[cpu_s_per_change]}" \
    "${r[driver_cpu_s_per_change]}" "${r[idle_cpu_s]}"
  unset r
done
echo
echo "goals at 1,000 proxies: convergence under 1000 ms, RSS under 100 MB"
