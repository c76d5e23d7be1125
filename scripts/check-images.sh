#!/usr/bin/env bash
# check-images.sh: the images of scripts/build-images.sh do what docker/README.md promises.
#
# Usage: scripts/check-images.sh [--no-build]
#
# 1. builds the images (scripts/build-images.sh; --no-build uses the ones already there);
# 2. every image: runs as user 65532:65532 (`docker inspect`), under 20 MB (the build checks);
# 3. on a network of its own, runs details, ratings, reviews (v2: it calls ratings) and
#    productpage by their names, productpage published on 127.0.0.1 only; banner and monolith
#    (SQLite in /data); the control plane and a proxy that finds it as `http://control:15010`.
#    Each must become `healthy` through its HEALTHCHECK (the static probe);
# 4. from the host, through the published port only: productpage's API answers with details
#    and with reviews that carry ratings, so a static binary in a scratch image resolved
#    `details`, `reviews` and `ratings`; the control plane lists the proxy at its container's
#    address, not 0.0.0.0;
# 5. `docker top` shows each process under uid 65532; `docker stop` (SIGTERM to PID 1) ends
#    each container within 2 s.
# Everything it starts (containers, the network) is removed on exit. Needs curl.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

prefix="${SAILKIT_IMAGE_PREFIX:-sailkit}"
tag="${SAILKIT_TAG:-dev}"
run_id="sailkit-check-$$"
network="$run_id"

step() { echo "==> $*" >&2; }
failed() {
  echo "check-images.sh: FAILED: $*" >&2
  for container in $(docker ps -aq --filter "label=$run_id"); do
    echo "--- logs of $(docker inspect --format '{{.Name}}' "$container")" >&2
    docker logs --tail 40 "$container" >&2 || true
  done
  exit 1
}

cleanup() {
  local containers
  containers="$(docker ps -aq --filter "label=$run_id")"
  [[ -z "$containers" ]] || docker rm -f $containers >/dev/null 2>&1 || true
  docker network rm "$network" >/dev/null 2>&1 || true
}
trap cleanup EXIT

case "${1:-}" in
  "") scripts/build-images.sh ;;
  --no-build) ;;
  *) echo "usage: scripts/check-images.sh [--no-build]" >&2; exit 2 ;;
esac

images=()
while read -r image _binary _health; do
  [[ -z "$image" || "$image" == \#* ]] && continue
  images+=("$image")
done < docker/images.txt

step "every image runs as 65532:65532"
for image in "${images[@]}"; do
  user="$(docker image inspect --format '{{.Config.User}}' "$prefix/$image:$tag")"
  [[ "$user" == "65532:65532" ]] || failed "$image runs as '$user'"
done

docker network create "$network" >/dev/null

# run NAME IMAGE [docker run options...] -- [arguments]: a detached container named NAME on
# the network (NAME is also its DNS name there), labelled for the cleanup.
run() {
  local name="$1" image="$2"
  shift 2
  local options=()
  while (($#)) && [[ "$1" != "--" ]]; do options+=("$1"); shift; done
  (($#)) && shift
  docker run -d --name "$run_id-$name" --network "$network" --network-alias "$name" \
    --hostname "$name" --label "$run_id" "${options[@]}" "$prefix/$image:$tag" "$@" >/dev/null
}

step "starting details, ratings, reviews v2, productpage, banner, monolith, control, proxy"
run details details
run ratings ratings
run reviews reviews -e ENABLE_RATINGS=true -e STAR_COLOR=black -e SERVICE_VERSION=v2
run productpage productpage -p 127.0.0.1::9080
run banner banner
run monolith monolith
run control control -p 127.0.0.1::15014
# A sidecar-shaped proxy: inbound on every interface, so it must register its own address.
run proxy proxy -- --control-plane http://control:15010 --labels app=details,version=v1 \
  --inbound 0.0.0.0:15006 --app 127.0.0.1:9080
containers=(details ratings reviews productpage banner monolith control proxy)

step "waiting for every container to be healthy"
deadline=$((SECONDS + 60))
for name in "${containers[@]}"; do
  while true; do
    status="$(docker inspect --format '{{.State.Health.Status}}' "$run_id-$name")"
    [[ "$status" == healthy ]] && break
    ((SECONDS < deadline)) || failed "$name is '$status' after 60 s"
    sleep 1
  done
done

step "productpage, from the host on 127.0.0.1, with details, reviews and ratings found by name"
port="$(docker port "$run_id-productpage" 9080/tcp | head -n1 | sed 's/.*://')"
details="$(curl -fsS "http://127.0.0.1:$port/api/v1/products/0")" || failed "productpage /api/v1/products/0"
[[ "$details" == *'"author"'* ]] || failed "no details in: $details"
reviews="$(curl -fsS "http://127.0.0.1:$port/api/v1/products/0/reviews")" || failed "productpage reviews"
[[ "$reviews" == *'"stars"'* ]] || failed "no ratings in the reviews: $reviews"
page="$(curl -fsS "http://127.0.0.1:$port/productpage")" || failed "productpage /productpage"
[[ "$page" == *"The Comedy of Errors"* ]] || failed "the page has no book"

step "the proxy registered its container's address with the control plane"
admin="$(docker port "$run_id-control" 15014/tcp | head -n1 | sed 's/.*://')"
proxy_ip="$(docker inspect --format "{{(index .NetworkSettings.Networks \"$network\").IPAddress}}" "$run_id-proxy")"
proxies="$(curl -fsS "http://127.0.0.1:$admin/proxies")" || failed "control /proxies"
[[ "$proxies" == *"$proxy_ip:15006"* ]] || failed "the proxy is not listed at $proxy_ip:15006: $proxies"

step "every process runs as uid 65532"
for name in "${containers[@]}"; do
  # docker top needs the pid column; the uid is the second.
  uids="$(docker top "$run_id-$name" -eo pid,uid | awk 'NR > 1 { print $2 }' | sort -u)"
  [[ "$uids" == 65532 ]] || failed "$name runs as uid '$uids'"
done

step "docker stop (SIGTERM) ends each container within 2 s"
printf '%-14s %s\n' CONTAINER STOP
for name in "${containers[@]}"; do
  start_ns="$(date +%s%N)"
  docker stop -t 10 "$run_id-$name" >/dev/null
  ms=$((($(date +%s%N) - start_ns) / 1000000))
  code="$(docker inspect --format '{{.State.ExitCode}}' "$run_id-$name")"
  printf '%-14s %5d ms (exit %s)\n' "$name" "$ms" "$code"
  ((ms < 2000)) || failed "$name took $ms ms to stop"
done

step "the CLI image runs"
docker run --rm --label "$run_id" "$prefix/cli:$tag" --version >/dev/null || failed "sailkit --version"

echo "check-images.sh: every check passed"
