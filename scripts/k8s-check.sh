#!/usr/bin/env bash
# Checks the Kubernetes manifests as strictly as static checks can, with no cluster:
#
#   1. yamllint over k8s/ (the project's .yamllint);
#   2. each overlay (and base) rendered with `kubectl kustomize`, then
#      - its Istio and other custom resources validated against the openAPIV3Schema of our
#        CustomResourceDefinitions (k8s/components/sailkit-mesh/crds/), unknown fields refused
#        (scripts/k8s-crd-check.py): a custom kind with no CRD there is an error;
#      - every other object through `kubernetes-validate --strict` for Kubernetes
#        $KUBERNETES_VERSION: an unknown field is an error, and so is a kind it has no schema for
#        (which it would pass with a warning);
#   3. every Istio file of k8s/networking/ validated against the same CRDs, the way the API
#      server would take it from `kubectl apply -f`;
#   4. every CRD file of crds/ is listed in its kustomization.yaml, and there is at least one;
#   5. the copies: the postgres component's databases.sql is docker/postgres/databases.sql, and
#      every file of docker/grafana/ has its copy in the observability component, the same and
#      listed in its kustomization.yaml;
#   6. every file of k8s/networking/ through our strict loader, each alone as `sailkit apply`
#      would take it (`sailkit analyze FILE`: a YAML or schema error fails);
#   7. `sailkit lint` over each rendered overlay: the checks only a running cluster would show
#      (selectors, ports, peer host names, images, references, Istio hosts and subsets, Pod
#      Security `restricted`); the mesh and istio overlays together with the Istio files the
#      walkthrough applies; the public images of the observability component allowed by name;
#   8. the observability component's Prometheus: its configuration through `promtool check
#      config`, and the targets its relabelling keeps out of the pods of the rendered overlay
#      (scripts/k8s-prometheus-check.py: every proxy and every annotated pod, each once);
#   9. the self-test: the same steps over scripts/testdata/k8s-broken/, a broken file for each,
#      must each fail, for the reason expected; and a valid custom resource must pass.
#
# The tools come from PyPI, pinned, into a throwaway venv under /tmp (kept between runs);
# kubectl (its kustomize) from the machine. The secrets file the overlays read is made with
# scripts/k8s-secrets.sh if missing. Every step runs, and the failed ones are listed at the end.
#
# Steps 6 and 7 need a host `sailkit` ($SAILKIT_BIN, default target/debug/sailkit), step 8
# promtool (Debian's `prometheus` package).
#
# Usage: scripts/k8s-check.sh [--self-test]   (--self-test: step 9 alone)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
YAMLLINT_VERSION=1.38.0
KUBERNETES_VALIDATE_VERSION=1.37.0
JSONSCHEMA_VERSION=4.26.0
# kubernetes-validate 1.37.0 carries the schemas of every Kubernetes release up to 1.37.0, the
# current one (`ls $venv/lib/python3*/site-packages/kubernetes_validate/kubernetes-json-schema`).
KUBERNETES_VERSION=1.37.0
KUBECTL="${KUBECTL:-kubectl}"
SAILKIT_BIN="${SAILKIT_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/sailkit}"
# The Istio files the walkthrough applies, linted with the overlays they route.
WALKTHROUGH_ROUTES=(destination-rule-all.yaml virtual-service-all-v1.yaml
    virtual-service-reviews-test-v2.yaml bookinfo-gateway.yaml)
OVERLAYS=(base overlays/plain overlays/mesh overlays/mesh-observability overlays/istio
    overlays/monolith)
# The images the observability component pulls from their projects, the only ones not built by
# docker/ that `sailkit lint` lets through (a repository: any tag).
PUBLIC_IMAGES=(prom/prometheus grafana/grafana jaegertracing/jaeger)
OBSERVABILITY=k8s/components/observability
CRDS_DIR=k8s/components/sailkit-mesh/crds
FIXTURES=scripts/testdata/k8s-broken
venv="/tmp/sailkit-k8s-check-$YAMLLINT_VERSION-$KUBERNETES_VALIDATE_VERSION-$JSONSCHEMA_VERSION"
work="$(mktemp -d /tmp/sailkit-k8s-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failed=()

log() { printf '[k8s-check %s] %s\n' "$(date -u +%T)" "$*"; }

# Runs step "$1" (a description) as the command that follows; a failure is recorded, not fatal.
step() {
    local what="$1"
    shift
    if "$@"; then
        log "ok: $what"
    else
        log "FAILED: $what"
        failed+=("$what")
    fi
}

install_tools() {
    if [[ ! -e "$venv/.installed" ]]; then
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q --disable-pip-version-check "yamllint==$YAMLLINT_VERSION" \
            "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "jsonschema==$JSONSCHEMA_VERSION"
        touch "$venv/.installed"
    fi
    command -v "$KUBECTL" >/dev/null \
        || { log "needs kubectl (its kustomize renders the overlays); set KUBECTL"; exit 1; }
    log "tools: yamllint $YAMLLINT_VERSION, kubernetes-validate $KUBERNETES_VALIDATE_VERSION," \
        "jsonschema $JSONSCHEMA_VERSION (in $venv); $("$KUBECTL" version --client 2>/dev/null \
        | tr '\n' ' ')"
}

# 1. yamllint over the folders given, with the project's settings.
lint() {
    local files
    files="$("$venv/bin/yamllint" -c .yamllint --list-files "$@" | wc -l)"
    "$venv/bin/yamllint" -c .yamllint --strict -f parsable "$@" || return 1
    log "yamllint: $files files under $* clean"
}

# The CRDs of crds/ as rendered (what the mesh overlay installs), in $work/crds.yaml.
render_crds() {
    "$KUBECTL" kustomize "$1" >"$work/crds.yaml"
}

# 2. Renders kustomization $1 and validates every object it makes against the CRDs in $2 (a
# rendered file) or Kubernetes' own schemas.
validate_kustomization() {
    local dir="$1" crds="$2" name
    name="$(tr / - <<<"$dir")"
    "$KUBECTL" kustomize "$dir" >"$work/$name.yaml" || return 1
    log "$dir: rendered $(grep -c '^kind:' "$work/$name.yaml") objects ($(summary "$work/$name.yaml"))"
    local custom=0 builtin=0
    "$venv/bin/python" scripts/k8s-crd-check.py --crds "$crds" --source "$dir (rendered)" \
        --builtin-out "$work/$name.builtin.yaml" "$work/$name.yaml" || custom=1
    validate_builtin "$work/$name.builtin.yaml" "$dir (rendered)" || builtin=1
    [[ $custom -eq 0 && $builtin -eq 0 ]]
}

# "3 Deployment, 2 Service, ...": what a rendered file holds.
summary() {
    sed -n 's/^kind: //p' "$1" | sort | uniq -c | sort -rn | awk '{ printf "%s%s %s", sep, $1, $2; sep = ", " }'
}

# kubernetes-validate --strict over file $1 (named $2 in its messages). With --quiet it prints
# only warnings and errors, so any line it prints is a failure: a kind it has no schema for is
# only a warning to it.
validate_builtin() {
    local out status=0
    out="$("$venv/bin/kubernetes-validate" --strict --quiet -k "$KUBERNETES_VERSION" "$1" 2>&1)" \
        || status=$?
    if [[ $status -ne 0 || -n "$out" ]]; then
        printf '%s\n' "$out" | sed "s|$1|$2|; s/^/    /"
        return 1
    fi
    log "kubernetes-validate --strict, Kubernetes $KUBERNETES_VERSION: $(grep -c '^kind:' "$1")" \
        "objects valid, every kind with a schema"
}

# 3. The Istio files of k8s/networking/ against the CRDs.
validate_networking() {
    "$venv/bin/python" scripts/k8s-crd-check.py --crds "$1" \
        --builtin-out "$work/networking.builtin.yaml" k8s/networking/*.yaml || return 1
    local files=(k8s/networking/*.yaml)
    log "k8s/networking/: $(cat "${files[@]}" | grep -c '^kind:') resources in ${#files[@]} files" \
        "valid against the CRDs"
    [[ ! -s "$work/networking.builtin.yaml" || "$(cat "$work/networking.builtin.yaml")" == "[]" ]] \
        || validate_builtin "$work/networking.builtin.yaml" "k8s/networking/*.yaml"
}

# 4. Every CRD file of folder $1 is listed in its kustomization.yaml, and there is one at least.
crds_listed() {
    local dir="$1" file count=0 missing=0
    for file in "$dir"/*.yaml; do
        [[ -e "$file" && "$(basename "$file")" != kustomization.yaml ]] || continue
        count=$((count + 1))
        if ! grep -Eq "^[[:space:]]*-[[:space:]]*$(basename "$file")[[:space:]]*$" "$dir/kustomization.yaml"; then
            log "$file is not listed in $dir/kustomization.yaml"
            missing=1
        fi
    done
    if [[ $count -eq 0 ]]; then
        log "no CRD file in $dir/: the Istio kinds cannot be validated (and the mesh overlay" \
            "would install none)"
        return 1
    fi
    [[ $missing -eq 0 ]] && log "$count CRD files in $dir/, each listed"
}

# 5. File $1 is the same as file $2.
same_file() {
    if ! cmp -s "$1" "$2"; then
        diff -u "$2" "$1" | sed 's/^/    /'
        log "$1 differs from $2, which it copies"
        return 1
    fi
    log "$1 is $2"
}

# Every file of docker/grafana/ is copied, unchanged, under $OBSERVABILITY/grafana/, and the
# copy is listed in $OBSERVABILITY/kustomization.yaml (a ConfigMap of Grafana's).
grafana_copies() {
    local original copy count=0 failed=0
    while IFS= read -r original; do
        copy="$OBSERVABILITY/grafana/${original#docker/grafana/}"
        count=$((count + 1))
        same_file "$copy" "$original" || failed=1
        if ! grep -Eq "^[[:space:]]*-[[:space:]]*${copy#"$OBSERVABILITY/"}[[:space:]]*$" \
            "$OBSERVABILITY/kustomization.yaml"; then
            log "$copy is not listed in $OBSERVABILITY/kustomization.yaml"
            failed=1
        fi
    done < <(find docker/grafana -type f | sort)
    [[ $count -gt 0 ]] || { log "no file in docker/grafana/"; return 1; }
    [[ $failed -eq 0 ]] && log "$count files of docker/grafana/ copied and listed"
}

# 8. The Prometheus configuration of kustomization $1 rendered, against the pods it renders.
prometheus_targets() {
    command -v promtool >/dev/null \
        || { log "needs promtool (Debian's prometheus package, as .ci/run installs)"; return 1; }
    "$KUBECTL" kustomize "$1" >"$work/prometheus.yaml" || return 1
    "$venv/bin/python" scripts/k8s-prometheus-check.py "$work/prometheus.yaml"
}

# `sailkit`, or a message saying how to get it.
have_sailkit() {
    [[ -x "$SAILKIT_BIN" ]] && return 0
    log "no sailkit at $SAILKIT_BIN: build it (cargo build -p sailkit) or set SAILKIT_BIN"
    return 1
}

# Each Istio file of $1 (a folder) alone through the strict loader.
strict_loader() {
    have_sailkit || return 1
    local file count=0
    for file in "$1"/*.yaml; do
        "$SAILKIT_BIN" analyze "$file" >"$work/analyze.out" 2>&1 \
            || { sed 's/^/    /' "$work/analyze.out"; return 1; }
        count=$((count + 1))
    done
    log "$count files of $1 loaded, each alone, with no error"
}

# `sailkit lint` over kustomization $1 rendered, with the Istio files "${@:2}".
semantic_lint() {
    have_sailkit || return 1
    "$KUBECTL" kustomize "$1" >"$work/lint.yaml" || return 1
    "$SAILKIT_BIN" lint -n bookinfo "$work/lint.yaml" "${@:2}"
}

main_checks() {
    [[ -e k8s/components/namespace/secrets.env ]] || scripts/k8s-secrets.sh
    step "yamllint k8s/" lint k8s/
    local crds_ok=true
    render_crds "$CRDS_DIR" || crds_ok=false
    if $crds_ok; then
        log "$CRDS_DIR: $(grep -c '^kind: CustomResourceDefinition' "$work/crds.yaml" || true) CRDs"
    else
        : >"$work/crds.yaml"
        failed+=("render $CRDS_DIR")
    fi
    step "every CRD file of $CRDS_DIR listed" crds_listed "$CRDS_DIR"
    local dir
    for dir in "${OVERLAYS[@]}"; do
        step "k8s/$dir: rendered and valid" validate_kustomization "k8s/$dir" "$work/crds.yaml"
    done
    step "k8s/networking/: valid against the CRDs" validate_networking "$work/crds.yaml"
    step "databases.sql copy" same_file k8s/components/postgres/databases.sql \
        docker/postgres/databases.sql
    step "docker/grafana/ copies" grafana_copies
    step "k8s/networking/: the strict loader" strict_loader k8s/networking
    local routes=("${WALKTHROUGH_ROUTES[@]/#/k8s/networking/}")
    step "sailkit lint k8s/overlays/plain" semantic_lint k8s/overlays/plain
    step "sailkit lint k8s/overlays/monolith" semantic_lint k8s/overlays/monolith
    step "sailkit lint k8s/overlays/mesh + the walkthrough's routes" \
        semantic_lint k8s/overlays/mesh "${routes[@]}"
    step "sailkit lint k8s/overlays/mesh-observability + the walkthrough's routes" \
        semantic_lint k8s/overlays/mesh-observability "${routes[@]}" \
        "${PUBLIC_IMAGES[@]/#/--allow-image=}"
    step "sailkit lint k8s/overlays/istio + the walkthrough's routes" \
        semantic_lint k8s/overlays/istio "${routes[@]}"
    step "Prometheus of k8s/overlays/mesh-observability: its targets" \
        prometheus_targets k8s/overlays/mesh-observability
}

# Runs "$@" and requires it to fail with output matching $expected: a check that cannot fail,
# or fails for another reason, fails the self-test.
expect_failure() {
    local what="$1" expected="$2" out
    shift 2
    if out="$("$@" 2>&1)"; then
        printf '%s\n' "$out" | sed 's/^/    /'
        log "self-test: $what passed a broken input"
        return 1
    fi
    if ! grep -Eq "$expected" <<<"$out"; then
        printf '%s\n' "$out" | sed 's/^/    /'
        log "self-test: $what failed, but not with /$expected/"
        return 1
    fi
    log "self-test: $what refused it: $(grep -Em1 "$expected" <<<"$out" \
        | sed 's/^ *//; s/^\[k8s-check [0-9:]*\] //')"
}

self_test() {
    step "self-test: yamllint" expect_failure "yamllint" "key-duplicates" \
        lint "$FIXTURES/lint"
    step "self-test: kustomize" expect_failure "kubectl kustomize" "missing-deployment.yaml" \
        validate_kustomization "$FIXTURES/unrenderable" "$FIXTURES/crds/crds.yaml"
    step "self-test: kubernetes-validate, unknown field" expect_failure "kubernetes-validate" \
        "imagePullPolice' was unexpected" \
        validate_kustomization "$FIXTURES/unknown-field" "$FIXTURES/crds/crds.yaml"
    step "self-test: kubernetes-validate, kind with no schema" expect_failure \
        "kubernetes-validate" "find schema for kind Widget" \
        validate_kustomization "$FIXTURES/unknown-kind" "$FIXTURES/crds/crds.yaml"
    step "self-test: CRD schema, unknown field" expect_failure "the CRD step" \
        "VirtualService reviews: spec: Additional properties are not allowed \('htpp' was unexpected" \
        validate_kustomization "$FIXTURES/istio" "$FIXTURES/crds/crds.yaml"
    step "self-test: CRD schema, kind with no CRD" expect_failure "the CRD step" \
        "DestinationRule reviews: no CustomResourceDefinition of DestinationRule" \
        validate_kustomization "$FIXTURES/istio" "$FIXTURES/crds/crds.yaml"
    step "self-test: CRD schema, no CRD at all" expect_failure "the CRD step" \
        "no CustomResourceDefinition at all in /dev/null, so none of its custom resources can be" \
        validate_kustomization "$FIXTURES/istio" /dev/null
    step "self-test: a valid custom resource passes" "$venv/bin/python" scripts/k8s-crd-check.py \
        --crds "$FIXTURES/crds/crds.yaml" "$FIXTURES/valid-virtual-service.yaml"
    step "self-test: CRD files listed" expect_failure "the listing check" \
        "not listed in $FIXTURES/crds/kustomization.yaml" crds_listed "$FIXTURES/crds"
    mkdir -p "$work/no-crds"
    step "self-test: CRD files present" expect_failure "the listing check" "no CRD file in" \
        crds_listed "$work/no-crds"
    step "self-test: copy check" expect_failure "the copy check" "differs from" \
        same_file "$FIXTURES/databases.sql" docker/postgres/databases.sql
    step "self-test: strict loader" expect_failure "the strict loader" \
        "strict-loader-unknown-field.yaml:14:11.*weigth" \
        "$SAILKIT_BIN" analyze "$FIXTURES/strict-loader-unknown-field.yaml"
    step "self-test: sailkit lint" expect_failure "sailkit lint" \
        "Service bookinfo/reviews: selector app=reviewz matches no pod template" \
        semantic_lint "$FIXTURES/semantic"
    step "self-test: Prometheus targets" expect_failure "the Prometheus check" \
        "istio-ingressgateway-0 .*15000/stats/prometheus is scraped 2 times, by the jobs sidecars, pods" \
        "$venv/bin/python" scripts/k8s-prometheus-check.py "$FIXTURES/prometheus-scraped-twice.yaml"
}

start=$SECONDS
install_tools
case "${1:-}" in
    --self-test) self_test ;;
    "")
        main_checks
        self_test
        ;;
    *)
        echo "usage: scripts/k8s-check.sh [--self-test]" >&2
        exit 64
        ;;
esac
if [[ ${#failed[@]} -gt 0 ]]; then
    log "FAILED after $((SECONDS - start)) s: ${#failed[@]} steps:"
    printf '    %s\n' "${failed[@]}"
    exit 1
fi
log "every check passed in $((SECONDS - start)) s"
