#!/usr/bin/env bash
# Fuzzes the JSON-RPC framing and dispatch (fuzz/fuzz_targets/rpc_frames.rs)
# with libFuzzer through cargo-fuzz, starting from the committed seed corpus.
#
#   scripts/fuzz.sh            a 30 s smoke run (what CI does)
#   scripts/fuzz.sh 3600       an hour; new inputs go to target/fuzz-corpus
#
# Fails on any panic, abort, timeout or an input using over 1 GiB of memory.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
command -v cargo-fuzz >/dev/null || cargo install --quiet --locked cargo-fuzz
# cargo-fuzz wants a nightly compiler; RUSTC_BOOTSTRAP lets stable act as one.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi
work="target/fuzz-corpus"
mkdir -p "$work"
cd fuzz
log="../$work/last-run.log"
status=0
cargo "${toolchain[@]}" fuzz run --sanitizer none rpc_frames "../$work" corpus/rpc_frames -- \
  -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)" "$log" || true
if [ "$status" -ne 0 ]; then
  tail -40 "$log" >&2
  echo "fuzz: rpc_frames failed (exit $status); the crashing input is under fuzz/artifacts/" >&2
fi
exit "$status"
