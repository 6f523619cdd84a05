#!/usr/bin/env bash
# The measure of issue #17: the official Go SDK's own end-to-end tests
# (github.com/github/copilot-sdk/go, internal/e2e), fetched through the Go
# module proxy, built against bindings/go and run with our testharness
# (tests/official-go/testharness: copilot-replay over the recorded snapshots).
#
#   tests/official-go/run.sh compile            type-check only, summarize the errors
#   tests/official-go/run.sh [run] [-run RE]    compile, then run and summarize
#   tests/official-go/run.sh run -partial       run the test files that compile:
#                                               leave out those with errors (and,
#                                               repeatedly, those that then break)
#
# Options: -run REGEX (as go test), -timeout D (whole run, default 60m),
# -parallel N (t.Parallel tests at once, default 1), -partial.
# Environment: COPILOT_CLI_PATH, COPILOT_SNAPSHOTS (default ../shared/snapshots),
# COPILOT_TEST_CACHE, COPILOT_REPLAY_PATH, COPILOT_SDK_REPO (see testharness);
# SKIP_CARGO=1 uses target/debug as it is instead of `cargo build`.
#
# Nothing of the SDK is copied into the repository: the module is assembled
# under target/official-go-e2e/ (rebuilt each time) from a copy of bindings/go
# with its module path rewritten to github.com/github/copilot-sdk/go, the
# SDK's internal/e2e/*_test.go from the module cache, and our testharness.
set -euo pipefail

sdk_module=github.com/github/copilot-sdk/go
sdk_version=v1.0.14
our_module=github.com/libcopilot/libcopilot/bindings/go

root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/tests/official-go"
out="$root/target/official-go-e2e"
mod="$out/module"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

mode=run
run_re=""
timeout=60m
parallel=1
partial=0
while [ $# -gt 0 ]; do
  case "$1" in
    compile|run) mode="$1" ;;
    -run) run_re="$2"; shift ;;
    -run=*) run_re="${1#-run=}" ;;
    -timeout) timeout="$2"; shift ;;
    -timeout=*) timeout="${1#-timeout=}" ;;
    -parallel) parallel="$2"; shift ;;
    -parallel=*) parallel="${1#-parallel=}" ;;
    -partial) partial=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# The library to link and, for running, the replay server and the CLI.
if [ "${SKIP_CARGO:-}" != 1 ]; then
  if [ "$mode" = run ]; then
    (cd "$root" && cargo build --quiet -p copilot -p copilot-replay)
  else
    (cd "$root" && cargo build --quiet -p copilot)
  fi
fi
[ -f "$root/target/debug/libcopilot.so" ] || { echo "run.sh: target/debug/libcopilot.so missing (cargo build -p copilot)" >&2; exit 1; }

# (a) The SDK from the module proxy (or the module cache).
# (Outside any module, so no go.mod or go.sum is touched.)
mkdir -p "$out"
sdk_dir="$(cd "$out" && GOFLAGS= go mod download -json "$sdk_module@$sdk_version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
[ -n "$sdk_dir" ] && [ -d "$sdk_dir/internal/e2e" ] || { echo "run.sh: could not download $sdk_module@$sdk_version" >&2; exit 1; }
echo "official e2e tests: $sdk_dir/internal/e2e"

# (b) The throwaway module.
rm -rf "$mod" "$out/left-out" "$out"/compile*.log "$out"/compile-groups.txt
mkdir -p "$mod/internal/e2e/testharness"
(
  cd "$root/bindings/go"
  # Non-test sources of every package but the examples; the cgo flags come
  # from the environment instead of cgo_dev.go / cgo_pkgconfig.go.
  find . -name '*.go' ! -name '*_test.go' ! -path './examples/*' \
    ! -name cgo_dev.go ! -name cgo_pkgconfig.go -print |
  while read -r f; do
    mkdir -p "$mod/$(dirname "$f")"
    sed "s#\"$our_module#\"$sdk_module#g" "$f" >"$mod/$f"
  done
  sed "s#^module $our_module\$#module $sdk_module#" go.mod >"$mod/go.mod"
  cp go.sum "$mod/go.sum"
)
grep -q "^module $sdk_module\$" "$mod/go.mod" || { echo "run.sh: module path not rewritten" >&2; exit 1; }
for f in "$sdk_dir"/internal/e2e/*.go; do
  install -m 644 "$f" "$mod/internal/e2e/"
done
cp "$here"/testharness/*.go "$mod/internal/e2e/testharness/"
# Modules the tests import that the SDK requires and bindings/go does not,
# at the SDK's versions.
mapfile -t wanted < <(python3 "$here/summarize.py" needs "$sdk_dir/go.mod" "$mod/go.mod" "$mod"/internal/e2e/*_test.go)
if [ ${#wanted[@]} -gt 0 ]; then
  echo "adding ${wanted[*]}"
  (cd "$mod" && go get "${wanted[@]}" >/dev/null)
fi

export CGO_ENABLED=1
export CGO_CFLAGS="-I$root/include"
export CGO_LDFLAGS="-L$root/target/debug -lcopilot -Wl,-rpath,$root/target/debug"
export LIBCOPILOT_ROOT="$root"

# (c) Compile: every type error (-gcflags=-e lifts the limit of 10).
compile() {
  (cd "$mod" && go test -c -vet=off -gcflags=-e -o "$out/e2e.test" ./internal/e2e) >"$1" 2>&1
}
echo "== compile"
set +e
compile "$out/compile.log"
compiled=$?
set -e
python3 "$here/summarize.py" compile "$out/compile.log" "$out/compile-groups.txt"
echo "(full log: $out/compile.log; every error group: $out/compile-groups.txt)"
if [ $compiled -ne 0 ] && [ $partial = 1 ] && [ "$mode" = run ]; then
  # Leave out the files with errors until the rest compiles (a file can
  # depend on helpers of one left out).
  mkdir -p "$out/left-out"
  log="$out/compile.log"
  for round in 1 2 3 4 5 6 7 8 9 10; do
    mapfile -t broken < <(python3 "$here/summarize.py" files "$log")
    [ ${#broken[@]} -gt 0 ] || break
    for f in "${broken[@]}"; do mv "$mod/internal/e2e/$f" "$out/left-out/"; done
    log="$out/compile-partial-$round.log"
    set +e
    compile "$log"
    compiled=$?
    set -e
    [ $compiled -eq 0 ] && break
  done
  left=$(ls "$out/left-out" | wc -l)
  echo "partial: left out $left of $(ls "$sdk_dir"/internal/e2e/*_test.go | wc -l) test files (in $out/left-out)"
  [ $compiled -ne 0 ] && python3 "$here/summarize.py" compile "$log"
fi
if [ $compiled -ne 0 ]; then
  echo "compile: FAILED"
  exit 1
fi
echo "compile: ok"
[ "$mode" = compile ] && exit 0

# (d) Run.
echo "== run"
export COPILOT_CLI_PATH="$("$root/tests/support/ensure-cli.sh")"
export COPILOT_TEST_CACHE="${COPILOT_TEST_CACHE:-$root/target/copilot-cache}"
snapshots="${COPILOT_SNAPSHOTS:-$root/../shared/snapshots}"
[ -d "$snapshots" ] || echo "warning: no snapshots at $snapshots (set COPILOT_SNAPSHOTS)" >&2
"$out/e2e.test" -test.list '.*' >"$out/tests.list"
args=(-json -count=1 -p 1 -parallel "$parallel" -timeout "$timeout")
[ -n "$run_re" ] && args+=(-run "$run_re")
set +e
(cd "$mod" && go test -vet=off "${args[@]}" ./internal/e2e) >"$out/results.jsonl" 2>"$out/run.stderr"
status=$?
set -e
python3 "$here/summarize.py" results "$out/results.jsonl" "$out/tests.list"
echo "(full output: $out/results.jsonl, stderr: $out/run.stderr)"
exit $status
