#!/usr/bin/env bash
# Builds libcopilot and the C demo, then runs it: offline against copilot-replay
# and the conversation in examples/conversations/demo.yaml by default; against
# real Copilot when COPILOT_GITHUB_TOKEN is set, or any OpenAI-compatible
# endpoint when COPILOT_PROVIDER_URL is set.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export COPILOT_CLI_PATH="$(tests/support/ensure-cli.sh)"
cargo build --quiet -p copilot -p copilot-replay
out="$root/target/debug"
cc -std=c11 -O2 -Wall -Wextra -Iinclude examples/demo.c -L"$out" -lcopilot -Wl,-rpath,"$out" -o "$out/demo"

if [ -z "${COPILOT_GITHUB_TOKEN:-}" ] && [ -z "${COPILOT_PROVIDER_URL:-}" ]; then
  log="$(mktemp)"
  "$out/copilot-replay" examples/conversations/demo.yaml >"$log" 2>&1 &
  replay=$!
  trap 'kill $replay 2>/dev/null; rm -f "$log"' EXIT
  for _ in $(seq 100); do
    url="$(sed -n 's/^copilot-replay listening on //p' "$log")"
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$log" >&2; echo "run-demo: copilot-replay did not start" >&2; exit 1; }
  export COPILOT_PROVIDER_URL="$url/v1"
  echo "run-demo: offline, model replies from copilot-replay at $url" >&2
fi
"$out/demo"
