#!/usr/bin/env bash
# Builds the API reference: the C header and C++ layer with doxygen
# (target/docs/html/index.html), and the Rust core with rustdoc (target/doc).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v doxygen >/dev/null || { apt-get update -qq && apt-get install -y -qq doxygen >/dev/null; }
cargo build --quiet -p copilot   # regenerates include/copilot.h
doxygen docs/Doxyfile
cargo doc --quiet --no-deps -p copilot
echo "C/C++ API: target/docs/html/index.html; Rust core: target/doc/copilot/index.html"
