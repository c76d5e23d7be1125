#!/usr/bin/env bash
# Runs every compose stage for real, through the files users run (docker/compose*.yaml), and
# checks what a user would check, from the host, only through the ports published on 127.0.0.1:
#
#   0. every compose file is valid against the Compose Specification's JSON schema;
#   1. monolith: the page, with the monolith's black stars, and a banner made through its API;
#   2. services: all three star variants; a banner made through the API survives `down` and
#      `up` (PostgreSQL's named volume); with reviews-v2 stopped the page still works;
#   3. mesh + observability: `sailkit apply` from the host reaches the control plane;
#      virtual-service-all-v1.yaml gives no stars, virtual-service-reviews-test-v2.yaml black
#      stars for jason only; the gateway serves the page after bookinfo-gateway.yaml;
#      Prometheus scrapes every sidecar, productpage and the control plane; where their public
#      images are on the engine, Grafana serves the sailkit dashboards and Jaeger the traces
#      (this machine can pull nothing: the stage runs without them and says so);
#   4. after each stage, `down -v` leaves no container, network or volume of the project.
#
# It needs the images (scripts/build-images.sh, docker/third-party/build.sh), docker-compose
# (or Compose v2: COMPOSE="docker compose"), python3, curl, and a host `sailkit` (SAILKIT_BIN).
# The project name is unique per run and every published port is a free one, so two runs, or a
# run beside a stack of your own, do not collide. On a failure it prints the state of the
# project and the logs of its containers that are not healthy (of all of them when every one is
# healthy), then removes the project.
#
# Usage: scripts/compose-check.sh [monolith|services|mesh]...   (every stage by default)
#        scripts/compose-check.sh schema    (step 0 alone: no image, Docker or sailkit needed)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
read -r -a compose_cmd <<<"${COMPOSE:-docker-compose}"
SAILKIT_BIN="${SAILKIT_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/sailkit}"
CHECK_JSONSCHEMA_VERSION=0.39.0
project="sailkit-check-$$"
file_args=() # -f FILE for each file of the stage
made_env=false # whether this run made docker/.env (and so removes it)

use_files() {
    file_args=()
    local file
    for file in "$@"; do file_args+=(-f "$file"); done
}

log() { printf '[compose-check %s] %s\n' "$(date -u +%T)" "$*"; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

export PRODUCTPAGE_PORT BANNER_PORT GATEWAY_PORT CONTROL_PLANE_PORT PROMETHEUS_PORT GRAFANA_PORT \
    JAEGER_PORT
PRODUCTPAGE_PORT="$(free_port)"
BANNER_PORT="$(free_port)"
GATEWAY_PORT="$(free_port)"
CONTROL_PLANE_PORT="$(free_port)"
PROMETHEUS_PORT="$(free_port)"
GRAFANA_PORT="$(free_port)"
JAEGER_PORT="$(free_port)"

compose() {
    "${compose_cmd[@]}" --env-file docker/.env -p "$project" "${file_args[@]}" "$@"
}

# What stays of the project: its containers, networks and volumes, by compose's label.
leftovers() {
    local label="label=com.docker.compose.project=$project"
    docker ps -a -q --filter "$label"
    docker network ls -q --filter "$label"
    docker volume ls -q --filter "$label"
}

on_exit() {
    [[ $1 -ne 0 ]] && report_failure
    if $made_env; then rm -rf docker/.env docker/secrets; fi
}

# The state of the failed project and its containers' logs, then the project removed.
report_failure() {
    log "FAILED; the project's state:"
    compose ps || true
    local id ids unhealthy=0
    ids="$(docker ps -a -q --filter "label=com.docker.compose.project=$project")"
    for id in $ids; do
        local state
        state="$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")"
        [[ "$state" == *" running healthy" ]] && continue
        unhealthy=$((unhealthy + 1))
        log "logs of ${state}:"
        docker logs --tail 60 "$id" 2>&1 | sed 's/^/    /'
        log "its last health checks:"
        docker inspect -f '{{if .State.Health}}{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}
{{end}}{{end}}' "$id" | tail -n 4 | sed 's/^/    /'
    done
    # Every container healthy and a check failed anyway: the cause is in what they said.
    if ((unhealthy == 0)); then
        for id in $ids; do
            log "last logs of $(docker inspect -f '{{.Name}}' "$id"):"
            docker logs --tail 15 "$id" 2>&1 | sed 's/^/    /'
        done
    fi
    compose down -v --remove-orphans >/dev/null 2>&1 || true
}

fail() {
    log "check failed: $*"
    exit 1
}

# Waits until every container of the project is healthy (each has a health check).
wait_healthy() {
    local deadline=$((SECONDS + ${HEALTH_TIMEOUT:-180})) ids id
    while :; do
        ids="$(compose ps -q)"
        local pending=0
        for id in $ids; do
            local state
            state="$(docker inspect -f '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")"
            case "$state" in
                "running healthy") ;;
                exited* | dead* | *unhealthy) fail "$(docker inspect -f '{{.Name}}' "$id") is $state" ;;
                *) pending=$((pending + 1)) ;;
            esac
        done
        [[ -n "$ids" && $pending -eq 0 ]] && return 0
        ((SECONDS < deadline)) || fail "$pending containers not healthy after ${HEALTH_TIMEOUT:-180} s"
        sleep 1
    done
}

# The services of the stage whose image this engine has. A public image that is not here
# (Grafana, Jaeger on a machine that can pull nothing) is left out, and said so; every image
# the project builds must be here.
present_services() {
    local service image
    while read -r service image; do
        if docker image inspect "$image" >/dev/null 2>&1; then
            echo "$service"
        elif [[ "$image" == "${SAILKIT_IMAGE_PREFIX:-sailkit}/"* ]]; then
            fail "image $image of $service is missing (scripts/build-images.sh, docker/third-party/build.sh)"
        else
            log "$service left out: its image $image is not on this engine and cannot be pulled here" >&2
        fi
    done < <(compose config | python3 -c '
import sys, yaml
for name, service in yaml.safe_load(sys.stdin)["services"].items():
    print(name, service.get("image", ""))')
}

up() {
    local out services
    out="$(mktemp)"
    services="$(present_services)"
    # `up -d` itself waits for the health of what others depend on: bounded too.
    # shellcheck disable=SC2086 # one word per service
    timeout "${HEALTH_TIMEOUT:-180}" "${compose_cmd[@]}" --env-file docker/.env -p "$project" \
        "${file_args[@]}" up -d $services >"$out" 2>&1 || { cat "$out"; rm -f "$out"; fail "up -d"; }
    rm -f "$out"
    wait_healthy
}

# Brings the stage down with its volumes and checks nothing of the project is left.
down_clean() {
    compose down -v --remove-orphans >/dev/null 2>&1
    local left
    left="$(leftovers)"
    [[ -z "$left" ]] || fail "left after down -v: $left"
    log "down -v: no container, network or volume of $project left"
}

page() { curl -sf --max-time 15 "$@" "http://127.0.0.1:$PRODUCTPAGE_PORT/productpage"; }

# Whether stdin holds $1 (reads it all: `grep -q` alone would stop early and fail the writer).
holds() { grep -c -- "$1" >/dev/null; }

# The star variant of one page: none (reviews v1), black (v2) or red (v3).
variant() {
    local colors
    colors="$(grep -o 'data-color="[a-z]*"' | sort -u | sed 's/data-color="\(.*\)"/\1/' | tr '\n' ' ' || true)"
    echo "${colors:-none}" | xargs
}

# The star variants seen in rounds of 12 concurrent page loads, until all three are seen or
# after $1 rounds. Each call from productpage to reviews opens a connection (compose.yaml sets
# PEER_CONNECTIONS=per-call), which is where DNS round robin picks an instance.
variants_seen() {
    local round out seen=""
    out="$(mktemp)"
    for round in $(seq 1 "$1"); do
        for _ in $(seq 1 12); do
            (html="$(page)" && variant <<<"$html" >>"$out" || echo "no-page" >>"$out") &
        done
        wait
        seen="$(sort -u "$out" | tr '\n' ' ' | xargs)"
        [[ "$seen" == "black none red" ]] && break
    done
    rm -f "$out"
    echo "$seen"
}

admin_password() { cat docker/secrets/banner-admin-password; }

create_banner() { # $1: base URL, $2: title
    curl -sf --max-time 10 -u "admin:$(admin_password)" "$1/api/v1/banners" \
        -H 'content-type: application/json' -d "{
        \"title\": \"$2\", \"platform\": \"desktop\", \"slot\": 1,
        \"starts_at\": \"$(date -u -d '-1 hour' +%FT%TZ)\", \"ends_at\": \"$(date -u -d '+1 day' +%FT%TZ)\" }" \
        >/dev/null || fail "creating a banner at $1"
}

banner_on_page() { page | holds "class=\"banner-title\">$1<" || fail "banner '$1' not on the page"; }

sign_in() { # $1: user; prints the cookie jar's path
    local jar
    jar="$(mktemp)"
    curl -sf --max-time 10 -c "$jar" -o /dev/null -d "username=$1&passwd=$1" \
        "http://127.0.0.1:$PRODUCTPAGE_PORT/login" || fail "signing in as $1"
    echo "$jar"
}

apply() {
    "$SAILKIT_BIN" apply --control-plane "http://127.0.0.1:$CONTROL_PLANE_PORT" "$@" >/dev/null \
        || fail "sailkit apply $*"
}

expect_only() { # $1: expected variant, $2: the instance that serves it, $3: what, then page options
    local want="$1" server="$2" what="$3" got html
    shift 3
    for _ in 1 2 3 4 5 6; do
        html="$(page "$@")" || fail "$what: no page"
        got="$(variant <<<"$html")"
        [[ "$got" == "$want" ]] || fail "$what: a page with '$got' stars, expected '$want'"
        holds "Reviews served by: $server<" <<<"$html" || fail "$what: reviews not from $server"
    done
    log "$what: 6 pages with '$want' stars from $server"
}

validate() {
    local venv=/tmp/sailkit-check-jsonschema-$CHECK_JSONSCHEMA_VERSION
    if [[ ! -x "$venv/bin/check-jsonschema" ]]; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
    fi
    "$venv/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker/compose*.yaml
}

stage_monolith() {
    use_files docker/compose.monolith.yaml
    up
    local html
    html="$(page)" || fail "no page from the monolith"
    [[ "$(variant <<<"$html")" == black ]] || fail "the monolith's page has no black stars"
    create_banner "http://127.0.0.1:$PRODUCTPAGE_PORT" "Monolith sale"
    banner_on_page "Monolith sale"
    log "monolith: the page with black stars, a banner made through its API"
    down_clean
}

stage_services() {
    use_files docker/compose.yaml
    up
    local seen
    seen="$(variants_seen 20)"
    [[ "$seen" == "black none red" ]] || fail "star variants seen: '$seen', expected all three"
    log "services: star variants seen: $seen"

    create_banner "http://127.0.0.1:$BANNER_PORT" "Spring sale"
    banner_on_page "Spring sale"
    compose down >/dev/null 2>&1
    up
    banner_on_page "Spring sale"
    log "services: the banner survived down and up"

    compose stop reviews-v2 >/dev/null 2>&1
    local html
    for _ in $(seq 1 12); do
        html="$(page)" || fail "with reviews-v2 stopped, no page"
        holds 'Reviews served by: reviews-v[13]' <<<"$html" \
            || fail "with reviews-v2 stopped, a page without reviews from v1 or v3"
    done
    log "services: reviews-v2 stopped, 12 pages served with reviews from v1 or v3"
    down_clean
}

stage_mesh() {
    use_files docker/compose.yaml docker/compose.mesh.yaml docker/compose.observability.yaml
    up
    apply k8s/networking/destination-rule-all.yaml k8s/networking/virtual-service-all-v1.yaml
    expect_only none reviews-v1 "virtual-service-all-v1.yaml"
    apply k8s/networking/virtual-service-reviews-test-v2.yaml
    local jar
    jar="$(sign_in jason)"
    expect_only black reviews-v2 "reviews-test-v2, jason" -b "$jar"
    expect_only none reviews-v1 "reviews-test-v2, not signed in"
    rm -f "$jar"

    apply k8s/networking/bookinfo-gateway.yaml
    curl -sf --max-time 15 "http://127.0.0.1:$GATEWAY_PORT/productpage" | holds 'Reviews served by' \
        || fail "the gateway does not serve the page"
    log "mesh: the ingress gateway serves the page"

    local deadline=$((SECONDS + 60)) up_targets
    while :; do
        up_targets="$(curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/api/v1/targets?state=active" \
            | grep -o '"health":"up"' | wc -l)"
        ((up_targets >= 11)) && break
        ((SECONDS < deadline)) || fail "Prometheus: $up_targets of 11 targets up"
        sleep 2
    done
    log "observability: Prometheus has $up_targets targets up (every sidecar, productpage, the control plane)"
    # Grafana and Jaeger run where their public images are (not on a machine that cannot pull).
    if [[ -n "$(compose ps -q grafana)" ]]; then
        local boards
        boards="$(curl -sf "http://127.0.0.1:$GRAFANA_PORT/api/search?tag=sailkit" | grep -o '"uid":"sailkit-[a-z]*"' | wc -l)"
        ((boards == 3)) || fail "Grafana: $boards of the 3 sailkit dashboards provisioned"
        log "observability: Grafana serves the 3 sailkit dashboards"
    fi
    if [[ -n "$(compose ps -q jaeger)" ]]; then
        curl -sf "http://127.0.0.1:$JAEGER_PORT/api/services" | holds productpage \
            || fail "Jaeger: no traces from productpage"
        log "observability: Jaeger has productpage's traces"
    fi
    down_clean
}

main() {
    if [[ "$*" == schema ]]; then
        validate
        log "every compose file is valid"
        return
    fi
    local stages=("$@")
    [[ ${#stages[@]} -gt 0 ]] || stages=(monolith services mesh)
    [[ -x "$SAILKIT_BIN" ]] || { log "no sailkit at $SAILKIT_BIN (set SAILKIT_BIN)"; exit 1; }
    trap 'on_exit $?' EXIT
    # The secrets: the user's own when they exist; else made for this run and removed after it.
    if [[ ! -f docker/.env ]]; then
        scripts/compose-env.sh >/dev/null
        made_env=true
    fi
    local start=$SECONDS
    validate
    log "every compose file is valid ($((SECONDS - start)) s)"
    for stage in "${stages[@]}"; do
        local t=$SECONDS
        log "stage $stage: project $project, productpage on 127.0.0.1:$PRODUCTPAGE_PORT"
        "stage_$stage"
        log "stage $stage passed in $((SECONDS - t)) s"
    done
    log "every stage passed in $((SECONDS - start)) s"
}

main "$@"
