#!/usr/bin/env bash
# Makes sure the tools the C-side tests use are installed (Debian packages):
# cmake and pkg-config (the packaging tests), valgrind (the misuse test),
# nlohmann-json3-dev (the header include/copilot_types.hpp builds on, for
# tests/cpp/typed_test.cpp), installing them when running as root with apt.
set -euo pipefail
missing=()
for tool in cmake pkg-config valgrind; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ -f /usr/include/nlohmann/json.hpp ] || missing+=(nlohmann-json3-dev)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-tools: installing ${missing[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
else
  echo "ensure-tools: install ${missing[*]}" >&2
  exit 1
fi
