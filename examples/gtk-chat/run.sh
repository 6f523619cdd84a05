#!/usr/bin/env bash
# Builds libcopilot and gtk-chat, then opens the window: offline by default
# (gtk-chat starts copilot-replay with weather.yaml; ask "What is the weather
# in Paris? Use the get_weather tool."), real Copilot with
# COPILOT_GITHUB_TOKEN, any OpenAI-compatible endpoint with COPILOT_PROVIDER_URL
# (and COPILOT_PROVIDER_API_KEY, COPILOT_MODEL). Needs a display, GTK 4 and
# JSON-GLib (tests/gtk/install-deps.sh installs them on Debian).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
COPILOT_CLI_PATH="$(tests/support/ensure-cli.sh)"
export COPILOT_CLI_PATH
cargo build --quiet -p copilot -p copilot-replay
make --no-print-directory -s -C examples/gtk-chat
exec target/gtk-chat/gtk-chat "$@"
