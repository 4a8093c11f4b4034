#!/usr/bin/env bash
# The real-cluster path (README.md beside this file): a kind cluster, the Gatehouse image built and
# loaded into it, the chart installed, the example DataPlane applied and waited for, then the e2e
# suites run against the cluster (GATEHOUSE_E2E_CLUSTER=kubeconfig).
#
# Needs a Docker engine, kind and kubectl. helm is used from $GATEHOUSE_HELM, else from PATH, else
# built from the Go module proxy by e2e/env (as the chart tests do).
#
# Environment: GATEHOUSE_KIND_CLUSTER (gatehouse-e2e), GATEHOUSE_IMAGE (gatehouse:e2e),
# GATEHOUSE_KIND_KEEP=1 keeps the cluster afterwards (default: deleted when everything passed).
set -euo pipefail
cd "$(dirname "$0")/../.."

cluster=${GATEHOUSE_KIND_CLUSTER:-gatehouse-e2e}
image=${GATEHOUSE_IMAGE:-gatehouse:e2e}
node=node_modules/.bin/node

say() { printf '[kind] %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

for tool in docker kind kubectl; do
  command -v "$tool" >/dev/null || die "$tool is not installed; this path needs docker, kind and kubectl"
done
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed)"
[ -x "$node" ] || die "run npm install first (Node 24 comes from node_modules)"

helm=${GATEHOUSE_HELM:-$(command -v helm || true)}
if [ -z "$helm" ]; then
  say "no helm on PATH: building it from the Go module proxy (first run only)"
  helm=$("$node" -e "import('./e2e/env/testbin.ts').then((m) => console.log(m.ensureHelm((l) => console.error(l))))")
fi

if ! kind get clusters | grep -qx "$cluster"; then
  say "creating kind cluster $cluster"
  kind create cluster --name "$cluster" --config e2e/kind/cluster.yaml --wait 180s
fi
kubeconfig=$(mktemp -t "gatehouse-kind-XXXXXX.kubeconfig")
trap 'rm -f "$kubeconfig"' EXIT
kind get kubeconfig --name "$cluster" > "$kubeconfig"
export KUBECONFIG=$kubeconfig

say "building $image and loading it into the cluster"
docker build -t "$image" .
kind load docker-image "$image" --name "$cluster"

say "installing the chart"
"$helm" upgrade --install gatehouse charts/gatehouse \
  --namespace gatehouse-system --create-namespace \
  --set image.repository="${image%:*}" --set image.tag="${image##*:}" --set image.pullPolicy=Never \
  --set topologySpread.whenUnsatisfiable=DoNotSchedule \
  --wait --timeout 5m
kubectl -n gatehouse-system rollout status deployment/gatehouse-operator --timeout=3m
# Two replicas on two different nodes.
nodes=$(kubectl -n gatehouse-system get pods -l app.kubernetes.io/component=operator -o jsonpath='{.items[*].spec.nodeName}' | tr ' ' '\n' | sort -u | wc -l)
[ "$nodes" -eq 2 ] || die "the operator replicas run on $nodes node(s), expected 2"

say "applying the example DataPlane (real Envoy and extproc pods) and waiting for Ready"
kubectl create namespace edge --dry-run=client -o yaml | kubectl apply -f -
kubectl apply -f e2e/kind/redis.yaml
kubectl -n edge rollout status deployment/redis --timeout=3m
kubectl apply -f charts/gatehouse/examples/dataplane.yaml
if ! kubectl -n edge wait dataplane/edge --for=condition=Ready --timeout=10m; then
  kubectl -n edge get dataplane edge -o yaml >&2
  kubectl -n edge get pods -o wide >&2
  die "DataPlane edge did not become Ready"
fi

# The suites start operators of their own; the installed one must not compete with them for status.
say "pausing the installed operator and running the e2e suites against the cluster"
kubectl -n gatehouse-system scale deployment/gatehouse-operator --replicas=0
kubectl -n gatehouse-system wait pods -l app.kubernetes.io/component=operator --for=delete --timeout=2m || true
GATEHOUSE_E2E_CLUSTER=kubeconfig KUBECONFIG="$kubeconfig" npm run test:integration

if [ "${GATEHOUSE_KIND_KEEP:-0}" != 1 ]; then
  say "deleting kind cluster $cluster (GATEHOUSE_KIND_KEEP=1 keeps it)"
  kind delete cluster --name "$cluster"
fi
