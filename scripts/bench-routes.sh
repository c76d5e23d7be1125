#!/usr/bin/env bash
# bench-routes.sh: how a sidecar (mesh-proxy) copes with large route tables: load time, memory,
# and how long requests wait while a new table is built.
#
# Usage: scripts/bench-routes.sh [SIZES...]
#   SIZES   numbers of routes to measure (default: 100 1000 10000), each as plain prefix routes
#           and as regex routes
#
# Environment (all optional):
#   PROFILE=release   the cargo profile mesh-proxy is built with (`proxy` is how it ships: fat
#                     LTO, slower to build)
#   PROBES=100        requests sent through the proxy, one after another, while a table is
#                     reloaded (the largest wait among them is the "stall" column)
#   PROXY=            a command to measure instead of the mesh-proxy just built, taking the
#                     same flags: `PROXY="target/release/sailkit proxy"` measures the sidecar as
#                     `sailkit up` runs it (same code, the system allocator instead of mimalloc)
#
# What it does, for each size and kind:
#   1. generates one VirtualService `reviews` with that many `http[]` rules (each matching
#      `/routes/<i>/` by prefix, or `/routes/<i>/[a-z0-9-]+` by regex) and a DestinationRule
#      with its subsets: about 170 bytes a route, so 10,000 routes make a 1.7 MB file;
#   2. starts mesh-proxy with that file in its config folder and times it from start to
#      `/ready` (load, check and compile the table); reads its RSS (`VmRSS`) and its peak
#      (`VmHWM`) from /proc;
#   3. sends requests matched by the last rule (every rule before it is tried first): the
#      first one, then the average of the next 20;
#   4. replaces the file by one routing elsewhere (same size): while the proxy reloads it,
#      sends PROBES requests through it and keeps the slowest;
#   5. replaces it by a one-route file and reads the RSS again: what a shrinking config
#      gives back.
# Every listener binds port 0 (the proxy writes its addresses to a file); the upstream is
# `python3 -m http.server`. Everything it starts is stopped and its files removed on exit.
# docs/benchmarks.md ("Route table size") has the figures. Needs Linux (/proc), python3, curl.
set -euo pipefail

sizes=("$@")
[ "${#sizes[@]}" -gt 0 ] || sizes=(100 1000 10000)
profile="${PROFILE:-release}"
probes="${PROBES:-100}"
for n in "${sizes[@]}" "$probes"; do
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || { echo "bench-routes.sh: '$n' is not a whole number >= 1 (see the usage at the top)" >&2; exit 2; }
done
for tool in python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench-routes.sh needs $tool" >&2; exit 1; }
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { echo "==> $*" >&2; }
die() {
  echo "bench-routes.sh: $1" >&2
  if [ -n "${2:-}" ] && [ -s "$2" ]; then
    echo "--- last lines of $2:" >&2
    tail -n 20 "$2" >&2
  fi
  exit 1
}

work="$(mktemp -d -t sailkit-bench-routes-XXXXXX)"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop() {
  local pid="${1:?stop needs a pid}" kept=() p
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  pids=("${kept[@]+"${kept[@]}"}")
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# kib FIELD PID: a memory figure of the process from /proc/PID/status (VmRSS, VmHWM), in KiB.
kib() { awk -v f="${1:?}:" '$1 == f { print $2 }' "/proc/${2:?}/status"; }
mib() { awk -v k="${1:?}" 'BEGIN { printf "%.0f", k / 1024 }'; }

# routes N KIND TARGET: the YAML of step 1. TARGET is the path prefix the rules match under.
routes() {
  local n="${1:?}" kind="${2:?}" target="${3:?}"
  printf 'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: reviews\nspec:\n  host: reviews\n  subsets:\n'
  printf '    - name: v%s\n      labels:\n        version: v%s\n' 1 1 2 2 3 3
  printf -- '---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: reviews\nspec:\n  hosts:\n    - reviews\n  http:\n'
  awk -v n="$n" -v kind="$kind" -v target="$target" 'BEGIN {
    for (i = 0; i < n; i++) {
      if (kind == "regex") m = sprintf("regex: \"/%s/%d/[a-z0-9-]+\"", target, i)
      else m = sprintf("prefix: /%s/%d/", target, i)
      printf "    - name: route-%d\n      match:\n        - uri:\n            %s\n      route:\n        - destination:\n            host: reviews\n            subset: v%d\n", i, m, 1 + i % 3
    }
  }'
}

# put FILE TEXT-FILE: replace a config file the way `sailkit apply` does (write, then rename).
put() { cp "${2:?}" "${1:?}.tmp" && mv "${1:?}.tmp" "$1"; }

# reloads ADMIN: the proxy's config_reloads counter.
reloads() { curl -sf "${1:?}/stats" | awk '$1 == "config_reloads" { print $2 }'; }

if [ -n "${PROXY:-}" ]; then
  read -r -a proxy <<<"$PROXY"
  [ -x "${proxy[0]}" ] || die "PROXY: no executable at ${proxy[0]}"
else
  step "building mesh-proxy (profile $profile)"
  cargo build --quiet --profile "$profile" -p mesh-proxy
  target_dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  case "$profile" in dev) proxy=("$target_dir/debug/mesh-proxy") ;; *) proxy=("$target_dir/$profile/mesh-proxy") ;; esac
  [ -x "${proxy[0]}" ] || die "no binary at ${proxy[0]}"
fi

step "starting the upstream (python3 -m http.server)"
mkdir -p "$work/www/routes/0" "$work/www/moved"
python3 -u -m http.server --bind 127.0.0.1 --directory "$work/www" 0 >"$work/upstream.log" 2>&1 &
pids+=("$!")
upstream_port=""
for _ in $(seq 1 100); do
  upstream_port="$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$work/upstream.log" | head -n 1)"
  [ -n "$upstream_port" ] && break
  sleep 0.05
done
[ -n "$upstream_port" ] || die "the upstream did not start" "$work/upstream.log"
cat >"$work/registry.json" <<EOF
{"services": [{"name": "reviews", "endpoints": [
  {"address": "127.0.0.1:$upstream_port", "labels": {"app": "reviews", "version": "v1"}},
  {"address": "127.0.0.1:$upstream_port", "labels": {"app": "reviews", "version": "v2"}},
  {"address": "127.0.0.1:$upstream_port", "labels": {"app": "reviews", "version": "v3"}}]}]}
EOF

printf '| routes | kind | file | start to ready | RSS ready | peak RSS | last rule: 1st request, next | RSS then | slowest request during reload | RSS after shrinking to 1 route |\n'
printf '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
  for kind in plain regex; do
    config="$work/config-$n-$kind"
    mkdir -p "$config"
    routes "$n" "$kind" routes >"$work/first.yaml"
    routes "$n" "$kind" moved >"$work/second.yaml"
    routes 1 plain routes >"$work/small.yaml"
    put "$config/routes.yaml" "$work/first.yaml"
    size_kb="$(($(stat -c %s "$config/routes.yaml") / 1024))"

    # 2. Start to ready.
    log="$work/proxy-$n-$kind.log"
    started="$(now_ms)"
    RUST_LOG=warn "${proxy[@]}" --config-dir "$config" --registry "$work/registry.json" \
      --outbound 127.0.0.1:0 --admin 127.0.0.1:0 --addr-file "$work/proxy.addr" \
      --access-log off >"$log" 2>&1 &
    pid="$!"
    pids+=("$pid")
    admin="" outbound=""
    for _ in $(seq 1 2000); do
      if [ -s "$work/proxy.addr" ]; then
        admin="http://$(sed -n 's/^admin=//p' "$work/proxy.addr")"
        outbound="http://$(sed -n 's/^outbound=//p' "$work/proxy.addr")"
        curl -sf -o /dev/null "$admin/ready" && break
      fi
      kill -0 "$pid" 2>/dev/null || die "mesh-proxy exited" "$log"
      sleep 0.01
    done
    curl -sf -o /dev/null "$admin/ready" || die "mesh-proxy not ready after 20 s" "$log"
    ready_ms=$(($(now_ms) - started))
    rss_ready="$(kib VmRSS "$pid")"
    peak="$(kib VmHWM "$pid")"

    # 3. The last rule: every rule before it is tried first.
    last="$(curl -s -o /dev/null -w '%{time_total}' -x "$outbound" "http://reviews/routes/$((n - 1))/x")"
    last_ms="$(awk -v t="$last" 'BEGIN { printf "%.0f", t * 1000 }')"
    next_ms="$(for _ in $(seq 1 20); do
      curl -s -o /dev/null -w '%{time_total}\n' -x "$outbound" "http://reviews/routes/$((n - 1))/x"
    done | awk '{ sum += $1 } END { printf "%.1f", sum / NR * 1000 }')"
    rss_used="$(kib VmRSS "$pid")"

    # 4. Requests while the proxy builds the next table of the same size.
    before="$(reloads "$admin")"
    put "$config/routes.yaml" "$work/second.yaml"
    slowest=0
    for _ in $(seq 1 "$probes"); do
      t="$(curl -s -o /dev/null -w '%{time_total}' -x "$outbound" "http://reviews/routes/0/")"
      slowest="$(awk -v a="$slowest" -v b="$t" 'BEGIN { print (b > a ? b : a) }')"
      sleep 0.01
    done
    for _ in $(seq 1 2000); do
      [ "$(reloads "$admin")" -gt "$before" ] && break
      sleep 0.01
    done
    [ "$(reloads "$admin")" -gt "$before" ] || die "the reload did not finish in 20 s" "$log"
    slowest_ms="$(awk -v t="$slowest" 'BEGIN { printf "%.0f", t * 1000 }')"

    # 5. Shrink to one route, and give the allocator a moment.
    before="$(reloads "$admin")"
    put "$config/routes.yaml" "$work/small.yaml"
    for _ in $(seq 1 2000); do
      [ "$(reloads "$admin")" -gt "$before" ] && break
      sleep 0.01
    done
    sleep 1
    rss_small="$(kib VmRSS "$pid")"
    stop "$pid"
    rm -f "$work/proxy.addr"

    printf '| %s | %s | %s KB | %s ms | %s MB | %s MB | %s ms, %s ms | %s MB | %s ms | %s MB |\n' \
      "$n" "$kind" "$size_kb" "$ready_ms" "$(mib "$rss_ready")" "$(mib "$peak")" \
      "$last_ms" "$next_ms" "$(mib "$rss_used")" "$slowest_ms" "$(mib "$rss_small")"
  done
done
