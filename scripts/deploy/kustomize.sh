#!/usr/bin/env bash
# Renders a kustomization: `scripts/deploy/kustomize.sh DIR` prints its objects.
#
# kubectl carries kustomize; where there is no kubectl (or WANGGE_KUSTOMIZE=go asks for it),
# the kustomize CLI is built once from its Go module and kept under .dev/bin, keyed by version.
set -euo pipefail

# v5.8.2 is the newest whose go.mod accepts Go 1.26 (v5.8.3 wants 1.27)
KUSTOMIZE_VERSION=v5.8.2
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [[ $# -ne 1 ]]; then
    echo "usage: $0 KUSTOMIZATION_DIR" >&2
    exit 2
fi

if [[ "${WANGGE_KUSTOMIZE:-}" != go ]] && command -v kubectl >/dev/null 2>&1; then
    exec kubectl kustomize "$1"
fi

bin="$root/.dev/bin/kustomize-$KUSTOMIZE_VERSION"
if [[ ! -x "$bin/kustomize" ]]; then
    if ! command -v go >/dev/null 2>&1; then
        echo "$0: neither kubectl nor go is installed: one of them renders the manifests" >&2
        exit 1
    fi
    echo "building kustomize $KUSTOMIZE_VERSION into $bin (once)" >&2
    mkdir -p "$bin"
    # a lock: the tests may render several overlays at once on a fresh machine
    exec 9>"$bin.lock"
    flock 9
    if [[ ! -x "$bin/kustomize" ]]; then
        GOBIN="$bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
    fi
fi
exec "$bin/kustomize" build "$1"
