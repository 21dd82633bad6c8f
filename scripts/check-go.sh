#!/usr/bin/env bash
# The Go gates for istio/ (npm run lint): gofmt -l prints nothing, go vet ./... and go test ./...
# pass; exits non-zero if any fails (2 if Go is missing). An optional first argument checks another
# copy of the module instead (test/tools/gates.test.ts proves the gate fails on a deliberately bad
# file that way).
#
# vet and test build with -trimpath, as scripts/setup-real-parts.sh does: the ~1500 Istio packages
# it compiled are then taken from the Go build cache instead of being compiled again.
set -euo pipefail
command -v go >/dev/null || { echo "check-go: Go is needed: install Go 1.26 (go.dev/dl); Debian's golang is too old" >&2; exit 2; }
cd "${1:-"$(dirname "$0")/../istio"}"
# The gofmt of the go in use (formatting can change between releases), not another one on PATH.
gofmt="$(go env GOROOT)/bin/gofmt"

t=$SECONDS
step() { echo "check-go: [$((SECONDS - t))s] $*"; }
step "gofmt -l . in $PWD"
unformatted=$("$gofmt" -l .)
if [ -n "$unformatted" ]; then
  echo "check-go: gofmt would reformat:" >&2
  echo "$unformatted" >&2
  exit 1
fi
step "go vet ./..."
go vet -trimpath ./...
step "go test ./..."
go test -trimpath ./...
step "passed"
