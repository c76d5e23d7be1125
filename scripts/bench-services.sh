#!/usr/bin/env bash
# bench-services.sh: drive the local sailkit stack with a load generator and report
# product pages per second, p50/p99 latency of /productpage, and the memory (RSS) of each service.
#
# Usage: scripts/bench-services.sh [DURATION_SECONDS] [CONNECTIONS]
#   DURATION_SECONDS  how long to drive the page (default 20)
#   CONNECTIONS       concurrent keep-alive connections (default 32)
# Environment: NO_MESH=1 starts the stack without sidecars (`sailkit up --no-mesh`), to compare;
# INBOUND=1 puts each sidecar in front of its instance too (`sailkit up --inbound`).
#
# It builds the release binary, starts `sailkit up` on OS-assigned ports in a throwaway data
# directory (so it never disturbs a stack you are running), warms up, measures with wrk, reads
# each process's RSS from /proc, and stops the stack. Needs: Linux, wrk (installed with apt-get
# when missing and running as root), python3.
#
# Each product page is one request to productpage, which calls details, reviews (which calls
# ratings for v2 and v3) and banner; every call crosses a service VIP. The issue's target on a
# 2-core machine: at least 3,000 pages/s and under 20 MB RSS per service after the run.
set -euo pipefail

duration="${1:-20}"
connections="${2:-32}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

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
sailkit="$root/target/release/sailkit"

data="$(mktemp -d -t sailkit-bench-XXXXXX)"
log="$data/launcher.log"
mesh_flag=()
[ "${NO_MESH:-0}" = 1 ] && mesh_flag=(--no-mesh)
[ "${INBOUND:-0}" = 1 ] && mesh_flag+=(--inbound)
RUST_LOG=warn "$sailkit" up --port-base 0 --data-dir "$data" "${mesh_flag[@]}" >"$log" 2>&1 &
launcher=$!
cleanup() {
  kill -TERM "$launcher" 2>/dev/null || true
  wait "$launcher" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT

state="$data/run/stack.json"
echo "starting the stack..." >&2
for _ in $(seq 1 600); do
  [ -s "$state" ] && break
  kill -0 "$launcher" 2>/dev/null || { echo "the launcher exited; its log:" >&2; cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$state" ] || { echo "the stack did not become ready in 60 s; log:" >&2; cat "$log" >&2; exit 1; }

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
out="$(wrk -t1 -c"$connections" -d"${duration}s" --latency "$page")"
echo "$out" >&2

python3 - "$state" "$out" "$duration" "$connections" <<'PY'
import json, re, sys
state, out, duration, conns = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]

def latency(label):
    m = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
    if not m:
        return "n/a"
    value, unit = float(m.group(1)), m.group(2)
    ms = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return "%.2f ms" % ms

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
shape = ("with sidecars, inbound too" if inbound else "with sidecars") if mesh else "without the mesh"
print("sailkit stack benchmark (%s s, %s connections, %s)" % (duration, conns, shape))
print("  pages/s      %s" % (rps.group(1) if rps else "n/a"))
print("  p50 latency  %s" % latency("50"))
print("  p99 latency  %s" % latency("99"))
print("  non-2xx      %s" % (non2xx.group(1) if non2xx else "0"))
if errors:
    print("  %s" % errors.group(0).strip())
print()
print("  %-22s %8s" % ("process", "RSS MB"))
launcher = rss_mb(state["launcher_pid"])
print("  %-22s %8s" % ("launcher+VIPs", "%.1f" % launcher if launcher else "?"))
for inst in state["instances"]:
    rss = rss_mb(inst["pid"]) if inst.get("pid") else None
    print("  %-22s %8s" % (inst["name"], "%.1f" % rss if rss else "?"))
for inst in state["instances"]:
    sidecar = inst.get("sidecar") or {}
    if sidecar.get("pid"):
        rss = rss_mb(sidecar["pid"])
        print("  %-22s %8s" % (inst["name"] + "-sidecar", "%.1f" % rss if rss else "?"))
PY
