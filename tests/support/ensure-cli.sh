#!/usr/bin/env bash
# Prints the path of a Copilot CLI binary, installing the pinned version from
# npm into .tools/ when COPILOT_CLI_PATH does not name one already.
set -euo pipefail
version=1.0.102
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ -n "${COPILOT_CLI_PATH:-}" ] && [ -x "$COPILOT_CLI_PATH" ]; then
  echo "$COPILOT_CLI_PATH"
  exit 0
fi
prefix="$root/.tools/copilot-cli"
bin="$prefix/node_modules/@github/copilot-linux-x64/copilot"
if [ ! -x "$bin" ] || ! grep -q "\"version\": \"$version\"" "$prefix/node_modules/@github/copilot/package.json" 2>/dev/null; then
  command -v npm >/dev/null || { echo "ensure-cli: npm is needed to install @github/copilot@$version" >&2; exit 1; }
  echo "ensure-cli: installing @github/copilot@$version into $prefix" >&2
  mkdir -p "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error "@github/copilot@$version" >&2
fi
echo "$bin"
