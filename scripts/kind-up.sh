#!/usr/bin/env bash
# Runs a stage of the kit on a local kind cluster (Kubernetes in Docker):
#
#   1. makes the secrets file if missing (scripts/k8s-secrets.sh);
#   2. creates the kind cluster $KIND_CLUSTER (default sailkit), unless it exists;
#   3. loads the images into it (`kind load docker-image`): every image of docker/images.txt,
#      as scripts/build-images.sh built it, and sailkit/postgres:15 (docker/third-party/build.sh).
#      Nothing is pulled: the manifests say imagePullPolicy: IfNotPresent;
#   4. applies the overlay (`kubectl apply -k k8s/overlays/OVERLAY`), and for the mesh,
#      mesh-observability and istio overlays k8s/networking/bookinfo-gateway.yaml, once the
#      routing kinds are served;
#   5. waits for every Deployment and StatefulSet to roll out, and prints how to reach the page.
#
# It needs docker, kind and kubectl. The istio overlay needs Istio installed in the cluster
# first (with its CNI node agent; k8s/README.md). mesh-observability's Prometheus, Grafana and
# Jaeger are their projects' public images, which the cluster pulls. The machines this repository is built and
# checked on have no Kubernetes cluster, and none can be installed there: this script is not
# run by CI (scripts/k8s-check.sh checks the manifests statically instead).
#
# Usage: scripts/kind-up.sh [plain|mesh|mesh-observability|istio|monolith]   (plain by default)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cluster="${KIND_CLUSTER:-sailkit}"
overlay="${1:-plain}"
namespace=bookinfo

log() { printf '[kind-up %s] %s\n' "$(date -u +%T)" "$*"; }
die() { log "$*"; exit 1; }

[[ -d "k8s/overlays/$overlay" ]] \
    || die "no overlay '$overlay' (plain, mesh, mesh-observability, istio or monolith)"
for tool in docker kind kubectl; do
    command -v "$tool" >/dev/null || die "needs $tool on PATH"
done

scripts/k8s-secrets.sh

if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
    log "kind cluster $cluster exists; using it"
else
    log "creating kind cluster $cluster"
    kind create cluster --name "$cluster" --wait 120s
fi
kubectl config use-context "kind-$cluster" >/dev/null

images=()
while read -r image _binary _health; do
    [[ -z "$image" || "$image" == \#* ]] && continue
    images+=("sailkit/$image:dev")
done <docker/images.txt
images+=(sailkit/postgres:15)
for image in "${images[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 || die "no image $image: build it first" \
        "(scripts/build-images.sh; sudo docker/third-party/build.sh for postgres)"
done
# The PostgreSQL pod runs as the image's postgres user, given by number in the manifest.
postgres_uid="$(docker run --rm --network none --entrypoint /usr/bin/id sailkit/postgres:15 -u postgres)"
[[ "$postgres_uid" == 100 ]] || die "sailkit/postgres:15's postgres user is uid $postgres_uid," \
    "not 100 as k8s/components/postgres/postgres.yaml says (runAsUser); change it there"
log "loading ${#images[@]} images into $cluster"
kind load docker-image --name "$cluster" "${images[@]}"

if [[ "$overlay" == istio ]]; then
    kubectl get crd virtualservices.networking.istio.io >/dev/null 2>&1 \
        || die "the istio overlay needs Istio in the cluster (k8s/README.md, \"On real Istio\")"
fi
log "kubectl apply -k k8s/overlays/$overlay"
kubectl apply -k "k8s/overlays/$overlay"

if [[ "$overlay" == mesh* || "$overlay" == istio ]]; then
    if [[ "$overlay" == mesh* ]]; then
        kubectl wait --for condition=established --timeout=60s \
            crd/virtualservices.networking.istio.io crd/gateways.networking.istio.io
    fi
    kubectl apply -n "$namespace" -f k8s/networking/bookinfo-gateway.yaml
fi

log "waiting for every rollout"
for workload in $(kubectl get deployment,statefulset -n "$namespace" -o name); do
    kubectl rollout status -n "$namespace" --timeout=300s "$workload"
done

front=productpage
[[ "$overlay" == monolith ]] && front=monolith
password="$(sed -n 's/^BANNER_ADMIN_PASSWORD=//p' k8s/components/namespace/secrets.env)"
cat <<TEXT

The $overlay stage runs in namespace $namespace of kind cluster $cluster. Open the page with
  kubectl -n $namespace port-forward svc/$front 9080:9080
then http://127.0.0.1:9080/productpage. The banner admin (user admin, password $password):
TEXT
if [[ "$overlay" == monolith ]]; then
    echo "  http://127.0.0.1:9080/admin through the same port-forward."
else
    echo "  kubectl -n $namespace port-forward svc/banner 9084:9080, then http://127.0.0.1:9084/admin"
fi
if [[ "$overlay" == mesh* ]]; then
    cat <<TEXT
Through the ingress gateway, as Istio's guide does:
  kubectl -n $namespace port-forward svc/istio-ingressgateway 9088:80
then http://127.0.0.1:9088/productpage. Routing: kubectl apply -n $namespace -f k8s/networking/FILE
TEXT
fi
if [[ "$overlay" == mesh-observability ]]; then
    cat <<TEXT
Grafana (the sailkit dashboards), Jaeger (the traces) and Prometheus:
  kubectl -n $namespace port-forward svc/grafana 3000:3000      then http://127.0.0.1:3000/
  kubectl -n $namespace port-forward svc/jaeger 16686:16686    then http://127.0.0.1:16686/
  kubectl -n $namespace port-forward svc/prometheus 9090:9090  then http://127.0.0.1:9090/targets
TEXT
elif [[ "$overlay" == istio ]]; then
    cat <<TEXT
Through Istio's ingress gateway:
  kubectl -n istio-system port-forward svc/istio-ingressgateway 9088:80
then http://127.0.0.1:9088/productpage. Routing: kubectl apply -n $namespace -f k8s/networking/FILE
TEXT
fi
echo "Remove the cluster with scripts/kind-down.sh."
