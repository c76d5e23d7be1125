#!/usr/bin/env bash
# bench-services.sh: drive the local sailkit stack with a load generator and report
# product pages per second, p50/p99 latency of /productpage, and the memory (RSS) of each service.
#
# Usage: scripts/bench-services.sh [DURATION_SECONDS] [CONNECTIONS]
#   DURATION_SECONDS  how long to drive the page (default 20)
#   CONNECTIONS       concurrent keep-alive connections (default 32)
# Environment: NO_MESH=1 starts the stack without sidecars (`sailkit up --no-mesh`), to compare;
# INBOUND=1 puts each sidecar in front of its instance too (`sailkit up --inbound`).
# DASHBOARD=both (the default with the mesh) measures the stack twice in one run: without the
# dashboard and tracing (`sailkit up --no-dashboard`), then as `sailkit up` starts it by default,
# with the mesh dashboard and every request traced (sidecars at `--trace-sampling 100`, every
# sidecar and service sending its spans to the dashboard's OTLP receiver), and compares the
# two; DASHBOARD=off or DASHBOARD=on measures one of them. ROUNDS=1: with both, how many times
# each is measured, in alternating order (off first in odd rounds, on first in even ones);
# the comparison is then of the medians. NO_MESH=1 has no dashboard, so it measures once.
#
# It builds the release binary, starts `sailkit up` on OS-assigned ports in a throwaway data
# directory (so it never disturbs a stack you are running), warms up, measures with wrk, reads
# each process's RSS from /proc, and stops the stack; once per stack measured. Needs: Linux,
# wrk (installed with apt-get when missing and running as root), python3.
#
# Each product page is one request to productpage, which calls details, reviews (which calls
# ratings for v2 and v3) and banner; every call crosses a service VIP. The issue's target on a
# 2-core machine: at least 3,000 pages/s and under 20 MB RSS per service after the run.
set -euo pipefail

duration="${1:-20}"
connections="${2:-32}"
rounds="${ROUNDS:-1}"
dashboard="${DASHBOARD:-both}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

for n in "$duration" "$connections" "$rounds"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "bench-services.sh: '$n' is not a positive whole number (see the usage at the top)" >&2; exit 2; }
done
case "$dashboard" in both | on | off) ;; *) echo "bench-services.sh: DASHBOARD is both, on or off" >&2; exit 2 ;; esac

if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing wrk (Debian package)..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
  else
    echo "bench-services.sh needs wrk: sudo apt-get install wrk (or brew install wrk)" >&2
    exit 1
  fi
fi

echo "building sailkit (release)..." >&2
cargo build --release -q -p sailkit
# Cargo builds into CARGO_TARGET_DIR when it is set (relative to where cargo runs: here).
target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" = /* ]] || target_dir="$root/$target_dir"
sailkit="$target_dir/release/sailkit"

mesh_flag=()
[ "${NO_MESH:-0}" = 1 ] && mesh_flag=(--no-mesh)
[ "${INBOUND:-0}" = 1 ] && mesh_flag+=(--inbound)

# The stacks to measure, by name: `off` is `--no-dashboard`, `on` is `sailkit up`'s default.
# Without the mesh there is no dashboard: one stack, named for what it is.
if [ "${NO_MESH:-0}" = 1 ]; then
  shapes=(off)
elif [ "$dashboard" = both ]; then
  shapes=(off on)
else
  shapes=("$dashboard")
fi

data=""
launcher=""
summary="$(mktemp -t sailkit-bench-summary-XXXXXX)"
# stop_stack: stop the running stack, if any, and remove its data directory.
stop_stack() {
  if [ -n "$launcher" ]; then
    kill -TERM "$launcher" 2>/dev/null || true
    wait "$launcher" 2>/dev/null || true
    launcher=""
  fi
  if [ -n "$data" ]; then
    rm -rf "$data"
    data=""
  fi
}
cleanup() {
  stop_stack
  rm -f "$summary"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# bench_stack ROUND SHAPE: start a stack of that shape, drive it, print its report and append
# its line to $summary, stop it.
bench_stack() {
  local round="${1:?}" shape="${2:?}"
  local -a flags=("${mesh_flag[@]+"${mesh_flag[@]}"}")
  [ "$shape" = off ] && [ "${NO_MESH:-0}" != 1 ] && flags+=(--no-dashboard)

  data="$(mktemp -d -t sailkit-bench-XXXXXX)"
  local log="$data/launcher.log"
  RUST_LOG=warn "$sailkit" up --port-base 0 --data-dir "$data" "${flags[@]+"${flags[@]}"}" >"$log" 2>&1 &
  launcher=$!

  local state="$data/run/stack.json"
  echo "round $round/$rounds: starting the stack (sailkit up${flags[*]+ "${flags[*]}"})..." >&2
  for _ in $(seq 1 600); do
    [ -s "$state" ] && break
    kill -0 "$launcher" 2>/dev/null || { echo "the launcher exited; its log:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [ -s "$state" ] || { echo "the stack did not become ready in 60 s; log:" >&2; cat "$log" >&2; exit 1; }

  local front_door banner page
  front_door=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["front_door"])' "$state")
  banner=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(next(v["url"] for v in s["vips"] if v["service"]=="banner"))' "$state")
  page="$front_door/productpage"

  # A banner active now, so every page includes one (as the page would in a real shop). Writes
  # need the banner admin account, whose password the launcher keeps in the data directory.
  python3 - "$banner" "$data/admin-password" <<'PY'
import base64, json, sys, urllib.request, datetime as dt
now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
body = {"title": "Benchmark sale", "platform": "desktop", "slot": 1,
        "starts_at": (now - dt.timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "ends_at": (now + dt.timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        "image_url": None, "link_url": "https://example.org/sale"}
password = open(sys.argv[2]).read().rstrip("\n")
auth = base64.b64encode(("admin:" + password).encode()).decode()
req = urllib.request.Request(sys.argv[1] + "/api/v1/banners", json.dumps(body).encode(),
                             {"content-type": "application/json", "authorization": "Basic " + auth})
urllib.request.urlopen(req, timeout=5).read()
PY

  curl -fsS "$page" | grep -q "Simple Bookstore App" || { echo "the page is not being served" >&2; exit 1; }

  echo "warming up (3 s)..." >&2
  wrk -t1 -c"$connections" -d3s "$page" >/dev/null

  echo "measuring: wrk, 1 thread, $connections connections, ${duration}s on $page" >&2
  local out
  out="$(wrk -t1 -c"$connections" -d"${duration}s" --latency "$page")"
  echo "$out" >&2

  python3 - "$state" "$out" "$duration" "$connections" "$round" "$summary" <<'PY'
import json, re, sys
state, out, duration, conns = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
round_, summary = sys.argv[5], sys.argv[6]

def latency_ms(label):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
    if not m:
        return None
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

def latency(label):
    ms = latency_ms(label)
    return "n/a" if ms is None else "%.2f ms" % ms

rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errors = re.search(r"Socket errors:.*", out)

def rss_mb(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None

print()
mesh = any(inst.get("sidecar") for inst in state["instances"])
inbound = any((inst.get("sidecar") or {}).get("inbound") for inst in state["instances"])
observed = bool(state.get("dashboard"))
shape = ("with sidecars, inbound too" if inbound else "with sidecars") if mesh else "without the mesh"
if mesh:
    shape += (", dashboard and tracing on (every request traced)" if observed
              else ", no dashboard, no tracing (--no-dashboard)")
print("sailkit stack benchmark (%s s, %s connections, %s)" % (duration, conns, shape))
print("  pages/s      %s" % (rps.group(1) if rps else "n/a"))
print("  p50 latency  %s" % latency("50"))
print("  p99 latency  %s" % latency("99"))
print("  non-2xx      %s" % (non2xx.group(1) if non2xx else "0"))
if errors:
    print("  %s" % errors.group(0).strip())
print()
print("  %-24s %8s" % ("process", "RSS MB"))
launcher = rss_mb(state["launcher_pid"])
print("  %-24s %8s" % ("launcher+VIPs" + ("+dashboard" if observed else ""), "%.1f" % launcher if launcher else "?"))
services, sidecars = [], []
for inst in state["instances"]:
    rss = rss_mb(inst["pid"]) if inst.get("pid") else None
    services.append(rss or 0)
    print("  %-24s %8s" % (inst["name"], "%.1f" % rss if rss else "?"))
for inst in state["instances"]:
    sidecar = inst.get("sidecar") or {}
    if sidecar.get("pid"):
        rss = rss_mb(sidecar["pid"])
        sidecars.append(rss or 0)
        print("  %-24s %8s" % (inst["name"] + "-sidecar", "%.1f" % rss if rss else "?"))

# One line for the comparison at the end: round, dashboard on?, pages/s, p50, p99, non-2xx,
# largest service RSS, largest sidecar RSS, launcher RSS.
def num(v):
    return "-" if v is None else "%.3f" % v
with open(summary, "a") as f:
    f.write("\t".join([round_, "on" if observed else "off", rps.group(1) if rps else "-",
                       num(latency_ms("50")), num(latency_ms("99")), non2xx.group(1) if non2xx else "0",
                       num(max(services) if services else None), num(max(sidecars) if sidecars else None),
                       num(launcher)]) + "\n")
PY
  stop_stack
}

for round in $(seq 1 "$rounds"); do
  if [ $((round % 2)) = 1 ]; then
    order=("${shapes[@]}")
  else
    order=()
    for ((i = ${#shapes[@]} - 1; i >= 0; i--)); do order+=("${shapes[i]}"); done
  fi
  for shape in "${order[@]}"; do bench_stack "$round" "$shape"; done
done

# The comparison, when both were measured: medians over the rounds, and on / off in each round.
[ "${#shapes[@]}" = 2 ] || exit 0
python3 - "$summary" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
keys = ["pages", "p50", "p99", "non2xx", "service", "sidecar", "launcher"]
by = {"off": [], "on": []}
for r in rows:
    by[r[1]].append({"round": int(r[0]), **{k: (None if v == "-" else float(v)) for k, v in zip(keys, r[2:])}})

def median(shape, key):
    values = [x[key] for x in by[shape] if x[key] is not None]
    return statistics.median(values) if values else None

def fmt(v, unit):
    if v is None:
        return "n/a"
    return {"pages": "{:,.0f}".format(v), "ms": "%.2f ms" % v, "MB": "%.1f MB" % v, "n": "%d" % v}[unit]

print()
print("dashboard and tracing: off (--no-dashboard) against on (sailkit up's default), %d round(s), medians"
      % len(by["off"]))
print()
print("| figure | off | on | on / off |")
print("|---|---:|---:|---:|")
for label, key, unit in (("pages/s", "pages", "pages"), ("p50 latency", "p50", "ms"), ("p99 latency", "p99", "ms"),
                         ("non-2xx answers", "non2xx", "n"), ("largest service RSS", "service", "MB"),
                         ("largest sidecar RSS", "sidecar", "MB"), ("launcher RSS (with the dashboard when on)", "launcher", "MB")):
    off, on = median("off", key), median("on", key)
    ratio = "%.2f×" % (on / off) if off and on is not None and key != "non2xx" else ""
    print("| %s | %s | %s | %s |" % (label, fmt(off, unit), fmt(on, unit), ratio))
spread = []
for off in by["off"]:
    on = next((x for x in by["on"] if x["round"] == off["round"]), None)
    if on and off["pages"] and on["pages"] is not None:
        spread.append("%.2f" % (on["pages"] / off["pages"]))
print()
print("pages/s on / off in each round: %s" % " ".join(spread))
PY
