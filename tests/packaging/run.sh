#!/usr/bin/env bash
# Installs libcopilot under a temporary prefix (shared and static), then builds
# and runs tests/packaging as a consumer would: find_package(copilot) with
# CMake and `pkg-config copilot`, C and C++ programs, a Go module outside the
# repository (go-consumer.sh) and the NuGet package under Mono
# (dotnet-consumer.sh), through ctest. Models answer from the installed
# copilot-replay (offline).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
work="$root/target/packaging"
rm -rf "$work" && mkdir -p "$work/home"
prefix="$work/prefix"
scripts/install.sh --prefix "$prefix" --static

export COPILOT_CLI_PATH="${COPILOT_CLI_PATH:-$(tests/support/ensure-cli.sh)}"
tests/support/ensure-mono.sh
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# Go keeps its caches and settings where the user has them, not in the private home below.
if command -v go >/dev/null; then
  for var in GOPATH GOCACHE GOMODCACHE GOENV; do
    export "$var=$(GOTOOLCHAIN=local go env "$var")"
  done
fi
# The CLI in a private home, sharing the unpacked-CLI cache with the other tests.
export HOME="$work/home"
export XDG_CACHE_HOME="${COPILOT_TEST_CACHE:-$root/target/copilot-cache}"

. tests/support/replay.sh
start_replay "$prefix/bin/copilot-replay" "$work/replay.log" \
  examples/conversations/demo.yaml tests/conversations/weather_tool.yaml
export COPILOT_PROVIDER_URL="$replay_url/v1"
unset COPILOT_GITHUB_TOKEN

cmake -S tests/packaging -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
(cd "$work/build" && ctest --output-on-failure)
