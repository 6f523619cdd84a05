#!/usr/bin/env bash
# Builds the benchmark programs (release), installs the official Node,
# Python, Rust and Go SDKs from their registries, and runs the SDK-only benchmark: the C
# ABI, the Go and .NET wrappers, the official SDKs and a raw C client (the
# floor) against one synthetic CLI (benches/peer). Writes
# benches/results/sdk-only.{md,png}.
# Then the end-to-end benchmark against the real CLI and copilot-replay
# (benches/e2e.py): start, session create, warm turns, concurrent sessions.
#   benches/run.sh [sdk|e2e|all]   (BENCH_* variables tune the sizes)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
rel="$root/target/release"
which="${1:-all}"
cargo build --quiet --release -p copilot -p copilot-bench-peer -p copilot-replay
export COPILOT_CLI_PATH="${COPILOT_CLI_PATH:-$(tests/support/ensure-cli.sh)}"
cc -O2 -std=c11 -Wall -Wextra -Werror -Iinclude benches/c/sdk_bench.c -o "$rel/sdk_bench" \
  -L"$rel" -lcopilot -Wl,-rpath,"$rel"
cc -O2 -std=c11 -Wall -Wextra -Werror benches/c/raw_client.c -o "$rel/raw_client"
cc -O2 -std=c11 -Wall -Wextra -Werror -pthread -Iinclude benches/c/e2e_bench.c -o "$rel/e2e_bench" \
  -L"$rel" -lcopilot -Wl,-rpath,"$rel"
# The copilotdev tag links this checkout's build (bindings/go/cgo_dev.go); the
# benchmarks run it with LD_LIBRARY_PATH=target/release.
(cd bindings/go && GOTOOLCHAIN=local go build -tags copilotdev -o "$rel/go_sdkbench" ./examples/sdkbench &&
  GOTOOLCHAIN=local go build -tags copilotdev -o "$rel/go_e2ebench" ./examples/e2ebench)
tests/support/ensure-mono.sh
bindings/dotnet/build.sh >/dev/null
# matplotlib for the chart, in a private environment.
venv="$root/target/bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -c "import matplotlib" 2>/dev/null || "$venv/bin/pip" install --quiet matplotlib
# The official SDKs, from their registries.
official="$root/target/bench-official"
mkdir -p "$official"
[ -d "$official/node_modules/@github/copilot-sdk" ] ||
  npm install --silent --prefix "$official" @github/copilot-sdk@1.0.14 >/dev/null
# Its runtime feature spawns our CLI (CliProgram::Path): nothing to download at build time.
(cd benches/official/rust && COPILOT_SKIP_CLI_DOWNLOAD=1 cargo build --quiet --release)
cp benches/official/node_bench.mjs benches/official/node_e2e.mjs "$official/"
# The official Go SDK (github.com/github/copilot-sdk/go, pinned in its go.mod);
# the module download is silent, the builds then have nothing to fetch.
(cd benches/official/go && GOTOOLCHAIN=local go mod download &&
  GOTOOLCHAIN=local go build -o "$rel/official_go_sdkbench" ./cmd/sdkbench &&
  GOTOOLCHAIN=local go build -o "$rel/official_go_e2e" ./cmd/e2e)
"$venv/bin/python" -c "import copilot" 2>/dev/null || "$venv/bin/pip" install --quiet github-copilot-sdk==1.0.27
case "$which" in
  sdk) "$venv/bin/python" benches/sdk_only.py ;;
  e2e) "$venv/bin/python" benches/e2e.py ;;
  all) "$venv/bin/python" benches/sdk_only.py && "$venv/bin/python" benches/e2e.py ;;
  *) echo "usage: benches/run.sh [sdk|e2e|all]" >&2; exit 2 ;;
esac
