#!/usr/bin/env bash
# Fetches, once, the CustomResourceDefinitions the rendered manifests are validated against,
# and prints the folder that holds them (.dev/crds/<project>-<version>/).
#
# CloudNativePG: its Go module (the Go module proxy) carries config/crd/bases/*.yaml.
# Strimzi publishes its CRDs in no registry package (its Maven artifacts carry the model
# classes, not the YAML): the tests check its resources' required fields instead.
set -euo pipefail

CNPG_VERSION=v1.27.1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/.dev/crds/cloudnative-pg-$CNPG_VERSION"

if [[ ! -f "$out/postgresql.cnpg.io_clusters.yaml" ]]; then
    if ! command -v go >/dev/null 2>&1; then
        echo "$0: go is needed once to fetch CloudNativePG $CNPG_VERSION's CRDs" >&2
        exit 1
    fi
    echo "fetching CloudNativePG $CNPG_VERSION's CRDs into $out (once)" >&2
    dir="$(cd /tmp && go mod download -json "github.com/cloudnative-pg/cloudnative-pg@$CNPG_VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    if [[ -z "$dir" || ! -d "$dir/config/crd/bases" ]]; then
        echo "$0: the module holds no config/crd/bases" >&2
        exit 1
    fi
    mkdir -p "$out.tmp"
    cp "$dir"/config/crd/bases/postgresql.cnpg.io_*.yaml "$out.tmp/"
    chmod u+w "$out.tmp"/*
    rm -rf "$out"
    mv "$out.tmp" "$out"
fi
echo "$out"
