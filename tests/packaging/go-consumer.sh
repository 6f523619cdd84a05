#!/usr/bin/env bash
# A Go module created outside the repository imports the wrapper, builds
# against the libcopilot installed under PREFIX (pkg-config, no tag) and runs
# one offline turn (go-consumer/main.go; COPILOT_PROVIDER_URL points at the
# installed copilot-replay). Checks that the binary loads libcopilot by its
# SONAME and carries no RPATH/RUNPATH (no checkout path).
# Usage: go-consumer.sh PREFIX     (run by tests/packaging/run.sh through ctest)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
prefix="$1"
command -v go >/dev/null || { echo "go-consumer: go is not installed" >&2; exit 1; }
export GOTOOLCHAIN=local
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/copilot-go-consumer.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
case "$tmp/" in "$root"/*) echo "go-consumer: $tmp is inside the repository" >&2; exit 1 ;; esac

# The wrapper's module path is not served by the module proxy, so the consumer
# names this checkout with a replace directive (a user of a published version
# would only `require` it). Its real dependencies (google/uuid, ...) come from
# the module proxy or cache; the wrapper's go.sum seeds their checksums.
cp "$here/go-consumer/main.go" "$tmp/"
cp "$root/bindings/go/go.sum" "$tmp/go.sum"
cat >"$tmp/go.mod" <<MOD
module example.com/copilot-consumer

go 1.24

require github.com/libcopilot/libcopilot/bindings/go v0.0.0

replace github.com/libcopilot/libcopilot/bindings/go => $root/bindings/go
MOD
cd "$tmp"
go mod tidy
go build -o consumer .

echo "go-consumer: pkg-config copilot: $(pkg-config --cflags --libs copilot)"
dyn="$(readelf -d consumer)"
printf '%s\n' "$dyn" | grep -q 'NEEDED.*\[libcopilot\.so\.[0-9][0-9]*\]' || {
  echo "go-consumer: the binary does not load libcopilot by its SONAME" >&2; printf '%s\n' "$dyn" >&2; exit 1; }
if printf '%s\n' "$dyn" | grep -E 'R(UN)?PATH'; then
  echo "go-consumer: the binary carries a library search path" >&2; exit 1
fi
if grep -q 'target/debug' consumer; then
  echo "go-consumer: the binary names target/debug" >&2; exit 1
fi
echo "go-consumer: NEEDED libcopilot by SONAME, no RPATH/RUNPATH"
# No rpath: the loader finds the library where the system would (here, the prefix).
LD_LIBRARY_PATH="$prefix/lib" ./consumer
