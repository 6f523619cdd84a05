#!/usr/bin/env bash
# Runs every test: Rust unit and end-to-end tests against the real Copilot CLI
# (offline, via copilot-replay), the C ABI tests (also under ASan/UBSan and
# valgrind), the installed package with C, C++, Go-module and NuGet (Mono)
# consumers, the Go and .NET wrappers, and the conformance suite when the
# upstream snapshots are present.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export COPILOT_CLI_PATH="$(tests/support/ensure-cli.sh)"
tests/support/ensure-tools.sh
export COPILOT_TEST_CACHE="${COPILOT_TEST_CACHE:-$root/target/copilot-cache}"
cargo test --workspace

# Install under a temporary prefix; C, C++ and static consumers through CMake
# (find_package) and pkg-config, a Go module and the NuGet package under Mono
# (both in temporary directories outside the repository), under ctest.
tests/packaging/run.sh

# The Go wrapper links the fresh target/debug/libcopilot.so (the copilotdev
# build tag, bindings/go/cgo_dev.go) and runs copilot-replay. Built the way
# users build it (pkg-config and an installed libcopilot), it is tested by
# tests/packaging above.
cargo build --quiet -p copilot -p copilot-replay

# The GTK 4 example (examples/gtk-chat) in Xvfb, driven with xdotool (Approve and
# Deny) through poll-mode dispatch; prints "gtk-chat: N passed, N failed";
# screenshots in target/gtk-chat-*.png.
tests/gtk/install-deps.sh
tests/gtk/run.sh
(cd bindings/go && export GOTOOLCHAIN=local && go vet -tags copilotdev ./... && go test -tags copilotdev -race -count=1 ./...)

# The .NET wrapper under Mono (NUnit); prints "dotnet: N passed, N failed".
tests/support/ensure-mono.sh
bindings/dotnet/build.sh test

# The conformance suite replays the upstream SDK scenarios, which live beside
# this checkout in ../shared/snapshots (or $COPILOT_SNAPSHOTS).
snapshots="${COPILOT_SNAPSHOTS:-$root/../shared/snapshots}"
if [ -d "$snapshots" ]; then
  COPILOT_SNAPSHOTS="$snapshots" cargo test --test conformance
  # Again on the in-process transport (the runtime library in the test
  # process). COPILOT_DISABLE_KEYTAR is one of the settings the runtime reads
  # from the process's environment (README, Transports).
  LIBCOPILOT_TEST_TRANSPORT=inprocess COPILOT_DISABLE_KEYTAR=1 COPILOT_SNAPSHOTS="$snapshots" \
    cargo test --test conformance
else
  echo "conformance suite not run: no upstream snapshots at $snapshots (set COPILOT_SNAPSHOTS)"
fi
