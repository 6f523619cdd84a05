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
  . tests/support/replay.sh
  start_replay "$out/copilot-replay" "$root/target/demo-replay.log" examples/conversations/demo.yaml
  export COPILOT_PROVIDER_URL="$replay_url/v1"
  echo "run-demo: offline, model replies from copilot-replay at $replay_url" >&2
fi
"$out/demo"
