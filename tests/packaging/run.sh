#!/usr/bin/env bash
# Installs libcopilot under a temporary prefix (shared and static), then builds
# and runs tests/packaging as a consumer would: find_package(copilot) with
# CMake and `pkg-config copilot`, C and C++ programs, through ctest. Models
# answer from the installed copilot-replay (offline).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
work="$root/target/packaging"
rm -rf "$work" && mkdir -p "$work/home"
prefix="$work/prefix"
scripts/install.sh --prefix "$prefix" --static

export COPILOT_CLI_PATH="${COPILOT_CLI_PATH:-$(tests/support/ensure-cli.sh)}"
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# The CLI in a private home, sharing the unpacked-CLI cache with the other tests.
export HOME="$work/home"
export XDG_CACHE_HOME="${COPILOT_TEST_CACHE:-$root/target/copilot-cache}"

log="$work/replay.log"
"$prefix/bin/copilot-replay" examples/conversations/demo.yaml tests/conversations/weather_tool.yaml >"$log" 2>&1 &
replay=$!
trap 'kill $replay 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  url="$(sed -n 's/^copilot-replay listening on //p' "$log")"
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$log" >&2; echo "packaging: copilot-replay did not start" >&2; exit 1; }
export COPILOT_PROVIDER_URL="$url/v1"
unset COPILOT_GITHUB_TOKEN

cmake -S tests/packaging -B "$work/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/build" -j2 >/dev/null
(cd "$work/build" && ctest --output-on-failure)
