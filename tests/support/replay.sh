# Sourced by scripts that need copilot-replay in the background:
#   start_replay BINARY LOG CONVERSATION...
# starts it, stops it when the script exits, and sets `replay_url` to
# http://127.0.0.1:PORT once it listens (exits 1 if it never does).
start_replay() {
  local binary="$1" log="$2"
  shift 2
  "$binary" "$@" >"$log" 2>&1 &
  replay_pid=$!
  trap 'kill $replay_pid 2>/dev/null || true' EXIT
  replay_url=""
  for _ in $(seq 100); do
    replay_url="$(sed -n 's/^copilot-replay listening on //p' "$log")"
    [ -n "$replay_url" ] && return 0
    sleep 0.1
  done
  cat "$log" >&2
  echo "copilot-replay did not start" >&2
  exit 1
}
