#!/usr/bin/env bash
# Installs the deployment tools the tests use, only those missing: helm into .tools/bin/.
# (hadolint, check-jsonschema and kubernetes-validate are Python packages: the [test] extra.)
# helm is built from its Go module, so only the Go toolchain and the Go module proxy are needed.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_VERSION=v3.19.0
HELM_K8S_MINOR=34  # helm v3.19.0 is built on client-go v0.34: its default Kubernetes version is 1.34
bin="$PWD/.tools/bin"

if [ -x "$bin/helm" ] && "$bin/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
  exit 0
fi

go=$(command -v go || echo /usr/local/go/bin/go)
[ -x "$go" ] || { echo "install-deploy-tools: the Go toolchain is needed to build helm (not found)" >&2; exit 1; }

echo "building helm $HELM_VERSION into .tools/bin (a few minutes the first time)"
mkdir -p "$bin"
# The -X flags stamp what helm's release build (its Makefile) stamps: its version, which the check
# above reads, and the Kubernetes version that `helm lint` and `helm template` assume by default
# (left unstamped, it is 1.20).
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for package in pkg/lint/rules pkg/chartutil; do
  ldflags+=" -X helm.sh/helm/v3/$package.k8sVersionMajor=1 -X helm.sh/helm/v3/$package.k8sVersionMinor=$HELM_K8S_MINOR"
done
GOBIN="$bin" CGO_ENABLED=0 "$go" install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
"$bin/helm" version --short
