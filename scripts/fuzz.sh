#!/usr/bin/env bash
# Fuzzes the JSON-RPC framing and dispatch (fuzz/fuzz_targets/rpc_frames.rs)
# and checks the JSON scanner against serde_json (fuzz/fuzz_targets/json_scan.rs)
# with libFuzzer through cargo-fuzz, starting from the committed seed corpus.
#
#   scripts/fuzz.sh            a 30 s smoke run per target (what CI does)
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
cd fuzz
status=0
# rpc_frames: framing, routing and event parsing take any bytes without a
# panic or a large allocation. json_scan: the event validator agrees with
# serde_json on every input.
for target in rpc_frames json_scan; do
  work="../target/fuzz-corpus/$target"
  mkdir -p "$work"
  log="$work/last-run.log"
  run=0
  cargo "${toolchain[@]}" fuzz run --sanitizer none "$target" "$work" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || run=$?
  echo "fuzz $target:"
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)" "$log" || true
  if [ "$run" -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fuzz: $target failed (exit $run); the crashing input is under fuzz/artifacts/$target/" >&2
    status=$run
  fi
done
exit "$status"
