#!/usr/bin/env bash
# Runs every test: Rust unit tests, the end-to-end suite against the real
# Copilot CLI (offline, via copilot-replay), and the C ABI tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export COPILOT_CLI_PATH="$(tests/support/ensure-cli.sh)"
export COPILOT_TEST_CACHE="${COPILOT_TEST_CACHE:-$root/target/copilot-cache}"
cargo test --workspace
