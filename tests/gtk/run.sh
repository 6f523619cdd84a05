#!/usr/bin/env bash
# Runs examples/gtk-chat in a real X server (Xvfb) against the real Copilot CLI
# and copilot-replay, and drives it as a person would, with xdotool:
#   approve: types the prompt, clicks Send, clicks Approve in the permission
#            dialog; the tool runs and the answer uses its result;
#   deny:    the prompt prefilled (GTK_CHAT_PROMPT), clicks Send, clicks Deny;
#            the tool never runs and the answer says so.
# Each run quits the app with Ctrl+Q, then checks the conversation view's text
# (GTK_CHAT_DUMP) and the app's log, and saves screenshots:
#   target/gtk-chat-approve.png, target/gtk-chat-deny.png (the window at the
#   end of the turn) and target/gtk-chat-{approve,deny}-dialog.png (the screen
#   with the permission dialog open).
# Needs: tests/gtk/install-deps.sh (GTK 4, JSON-GLib, Xvfb, xdotool, ImageMagick).
# Every wait is bounded; prints "gtk-chat: N passed, N failed" and exits non-zero
# on any failure. Logs: target/gtk-chat/*.log.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root" || exit 1

# The CLI's unpacked copy, shared with the other tests (tests/run-all.sh).
cache="${COPILOT_TEST_CACHE:-$root/target/copilot-cache}"
# Seconds each wait may take. Starting the CLI is the slow part: its first run
# on a machine unpacks it into that cache.
READY_TIMEOUT="${GTK_CHAT_READY_TIMEOUT:-180}"
STEP_TIMEOUT=30
TURN_TIMEOUT=90
EXIT_TIMEOUT=30
PROMPT="What is the weather in Paris? Use the get_weather tool."

passed=0
failed=0
work="$root/target/gtk-chat"
mkdir -p "$work"
rm -f "$root"/target/gtk-chat-*.png # no picture of an earlier run passes for this one's
tmp="$(mktemp -d)"
xvfb_pid=""
app_pid=""

log() { echo "gtk-chat-test: $*" >&2; }

cleanup() {
  # Only what this script started: the app's process group (the app, the
  # CLI and copilot-replay it spawned) and Xvfb.
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill -TERM -- "-$app_pid" 2>/dev/null
    sleep 1
    kill -KILL -- "-$app_pid" 2>/dev/null
  fi
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

summary() {
  echo "gtk-chat: $passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
}

# ---- build ----------------------------------------------------------------------
setup_failed() {
  log "$*"
  failed=$((failed + 2))
  summary
  exit 1
}
for tool in Xvfb xdotool import pkg-config; do
  command -v "$tool" >/dev/null || setup_failed "$tool is missing: run tests/gtk/install-deps.sh"
done
pkg-config --exists gtk4 json-glib-1.0 || setup_failed "GTK 4 / JSON-GLib headers missing: run tests/gtk/install-deps.sh"
cli="$(tests/support/ensure-cli.sh)" || setup_failed "no Copilot CLI (tests/support/ensure-cli.sh failed)"
timeout 1800 cargo build --quiet -p copilot -p copilot-replay || setup_failed "cargo build failed"
timeout 300 make --no-print-directory -s -C examples/gtk-chat || setup_failed "building examples/gtk-chat failed"
app_bin="$work/gtk-chat"

# ---- the X server ------------------------------------------------------------------
# -displayfd: Xvfb picks a free display number and writes it once it accepts
# connections, so there is neither a guessed :NN nor a sleep.
exec {dfd}>"$tmp/display"
Xvfb -displayfd "$dfd" -screen 0 1024x768x24 -nolisten tcp -noreset >"$work/xvfb.log" 2>&1 &
xvfb_pid=$!
exec {dfd}>&-
for _ in $(seq 100); do
  [ -s "$tmp/display" ] && break
  kill -0 "$xvfb_pid" 2>/dev/null || break
  sleep 0.1
done
[ -s "$tmp/display" ] || { cat "$work/xvfb.log" >&2; setup_failed "Xvfb did not start"; }
DISPLAY=":$(tr -d '[:space:]' <"$tmp/display")"
export DISPLAY
log "Xvfb on $DISPLAY"

# ---- helpers --------------------------------------------------------------------------
# wait_log FILE PATTERN SECONDS: until a line of FILE matches (grep -E).
wait_log() {
  local file="$1" pattern="$2" deadline=$((SECONDS + $3))
  while [ "$SECONDS" -lt "$deadline" ]; do
    grep -qE "$pattern" "$file" 2>/dev/null && return 0
    kill -0 "$app_pid" 2>/dev/null || { grep -qE "$pattern" "$file" 2>/dev/null; return; }
    sleep 0.2
  done
  return 1
}

# find_window TITLE_REGEX: the id of the app's visible window with that title
# (--all: xdotool otherwise matches windows meeting any one criterion).
find_window() {
  timeout "$STEP_TIMEOUT" xdotool search --all --sync --onlyvisible --pid "$app_pid" --name "$1" 2>/dev/null | head -n1
}

# click WINDOW X Y: a real pointer click at (X, Y) inside WINDOW.
click() {
  timeout 10 xdotool mousemove --window "$1" "$2" "$3" click 1
}

# geometry WINDOW: sets W and H.
geometry() {
  local out
  out="$(timeout 10 xdotool getwindowgeometry --shell "$1")" || return 1
  W="$(sed -n 's/^WIDTH=//p' <<<"$out")"
  H="$(sed -n 's/^HEIGHT=//p' <<<"$out")"
  [ -n "$W" ] && [ -n "$H" ]
}

# The environment of the repository's own tests (tests/common/mod.rs
# child_env): no tokens, a private home, the shared CLI cache, and a proxy
# that refuses everything, so the only model is copilot-replay.
# Sets app_env to it (for env -i).
isolated_env() {
  local home="$1" name
  app_env=()
  while IFS= read -r name; do
    case "${name^^}" in
      *TOKEN* | GH_* | GITHUB* | COPILOT*) ;;
      *) app_env+=("$name=${!name}") ;;
    esac
  done < <(compgen -e)
  mkdir -p "$cache"
  # shellcheck disable=SC2054 # NO_PROXY's commas are its own
  app_env+=(
    HOME="$home" COPILOT_HOME="$home/.copilot" XDG_CONFIG_HOME="$home/.config"
    XDG_STATE_HOME="$home/.state" GH_CONFIG_DIR="$home/.gh"
    XDG_CACHE_HOME="$cache" XDG_RUNTIME_DIR="$home/.run"
    HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=127.0.0.1,localhost,::1
    COPILOT_CLI_PATH="$cli" COPILOT_REPLAY_PATH="$root/target/debug/copilot-replay"
    # GTK in Xvfb: X11, software rendering, no accessibility or session bus.
    GDK_BACKEND=x11 GSK_RENDERER=cairo GTK_A11Y=none NO_AT_BRIDGE=1
    DBUS_SESSION_BUS_ADDRESS=disabled:
  )
}

# ---- one run -----------------------------------------------------------------------
# run_case NAME ACTION(approve|deny) EXPECTED_LINE... ; "!TEXT" means TEXT must be absent.
run_case() {
  local name="$1" action="$2"
  shift 2
  local home="$tmp/$name-home" dump="$tmp/$name.txt" applog="$work/$name.log"
  mkdir -p "$home/.run" && chmod 700 "$home/.run"
  isolated_env "$home"
  app_env+=(GTK_CHAT_DUMP="$dump")
  [ "$action" = deny ] && app_env+=(GTK_CHAT_PROMPT="$PROMPT")
  log "$name: starting"
  local started=$SECONDS

  # Its own process group (setsid), so cleanup can end it and its children.
  (cd "$home" && exec setsid env -i "${app_env[@]}" "$app_bin") >"$applog" 2>&1 &
  app_pid=$!

  # fail MESSAGE: reports, keeps the evidence, and ends this run's app.
  fail() {
    log "$name: FAILED: $*"
    log "--- $applog (tail) ---"
    tail -n 30 "$applog" >&2
    [ -s "$dump" ] && { log "--- view text ---"; cat "$dump" >&2; }
    timeout 10 import -display "$DISPLAY" -window root "$root/target/gtk-chat-$name-failed.png" 2>/dev/null &&
      log "screen at the failure: target/gtk-chat-$name-failed.png"
    if [ -n "$app_pid" ]; then
      kill -TERM -- "-$app_pid" 2>/dev/null
      sleep 1
      kill -KILL -- "-$app_pid" 2>/dev/null
      wait "$app_pid" 2>/dev/null
      app_pid=""
    fi
    failed=$((failed + 1))
  }

  local main dialog
  main="$(find_window '^gtk-chat$')"
  [ -n "$main" ] || { fail "no gtk-chat window within ${STEP_TIMEOUT}s"; return; }
  wait_log "$applog" '^gtk-chat: ready$' "$READY_TIMEOUT" || { fail "session not ready within ${READY_TIMEOUT}s"; return; }
  log "$name: session ready after $((SECONDS - started))s"

  geometry "$main" || { fail "no geometry for window $main"; return; }
  if [ "$action" = approve ]; then
    # Keyboard input goes to the focused window (there is no window manager).
    timeout 10 xdotool windowfocus --sync "$main" || { fail "cannot focus the window"; return; }
    timeout 30 xdotool type --delay 15 "$PROMPT" || { fail "xdotool type failed"; return; }
  fi
  # Send: bottom-right, 96x40 with a 12 px margin (see gtk-chat.c).
  click "$main" $((W - 60)) $((H - 32)) || { fail "clicking Send failed"; return; }
  wait_log "$applog" '^gtk-chat: permission asked: ' "$STEP_TIMEOUT" ||
    { fail "no permission request within ${STEP_TIMEOUT}s of clicking Send"; return; }
  grep -q "^gtk-chat: permission asked: .*get_weather" "$applog" || { fail "the permission request is not for get_weather"; return; }

  dialog="$(find_window '^gtk-chat: permission$')"
  [ -n "$dialog" ] || { fail "no permission dialog within ${STEP_TIMEOUT}s"; return; }
  sleep 0.5 # let it draw, for the screenshot
  timeout 10 import -display "$DISPLAY" -window root "$root/target/gtk-chat-$name-dialog.png" ||
    { fail "screenshot of the dialog failed"; return; }
  # Buttons: Deny the left half, Approve the right half of the bottom row,
  # 44 px high, 16 px above the bottom edge (see gtk-chat.c).
  geometry "$dialog" || { fail "no geometry for the dialog"; return; }
  local x label
  if [ "$action" = approve ]; then x=$((W * 3 / 4)) label=approved; else x=$((W / 4)) label=denied; fi
  local tries=0
  until grep -q "^gtk-chat: permission $label\$" "$applog"; do
    tries=$((tries + 1))
    [ "$tries" -le 3 ] || { fail "clicking ${action^} at ($x, $((H - 38))) of the dialog had no effect"; return; }
    # A click that came before the dialog took input is lost: retry while it is there.
    xdotool getwindowname "$dialog" >/dev/null 2>&1 || { fail "the dialog closed but the app did not log '$label'"; return; }
    click "$dialog" "$x" $((H - 38)) || { fail "clicking ${action^} failed"; return; }
    wait_log "$applog" "^gtk-chat: permission $label\$" 5
  done

  wait_log "$applog" '^gtk-chat: turn finished' "$TURN_TIMEOUT" || { fail "the turn did not finish within ${TURN_TIMEOUT}s"; return; }
  sleep 0.5 # the last redraw
  timeout 10 import -display "$DISPLAY" -window "$main" "$root/target/gtk-chat-$name.png" ||
    { fail "screenshot failed"; return; }

  # Quit as a user would: Ctrl+Q in the focused window.
  timeout 10 xdotool windowfocus --sync "$main" || { fail "cannot focus the window to quit"; return; }
  timeout 10 xdotool key ctrl+q || { fail "xdotool key ctrl+q failed"; return; }
  local deadline=$((SECONDS + EXIT_TIMEOUT))
  while kill -0 "$app_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
  if kill -0 "$app_pid" 2>/dev/null; then fail "still running ${EXIT_TIMEOUT}s after Ctrl+Q"; return; fi
  wait "$app_pid"
  local status=$?
  app_pid=""
  [ "$status" -eq 0 ] || { fail "exited with status $status"; return; }
  grep -q '^gtk-chat: exited$' "$applog" || { fail "no clean exit in the log"; return; }
  [ -s "$dump" ] || { fail "GTK_CHAT_DUMP was not written"; return; }

  local chunks
  chunks="$(sed -n 's/^gtk-chat: turn finished (\([0-9]*\) text chunks streamed)$/\1/p' "$applog" | tail -n1)"
  [ "${chunks:-0}" -ge 2 ] || { fail "the reply was not streamed (${chunks:-0} chunks)"; return; }
  local expected
  for expected in "$@"; do
    if [ "${expected:0:1}" = '!' ]; then
      if grep -qF -- "${expected:1}" "$dump"; then fail "the view shows ${expected:1}"; return; fi
    elif ! grep -qF -- "$expected" "$dump"; then
      fail "the view lacks: $expected"
      return
    fi
  done
  log "$name: passed in $((SECONDS - started))s ($chunks chunks streamed); screenshot target/gtk-chat-$name.png"
  passed=$((passed + 1))
}

run_case approve approve \
  "You: $PROMPT" \
  "Copilot: Let me look up the current weather in Paris for you." \
  '[permission] approved: Copilot wants to run the tool get_weather with {"city":"Paris"}.' \
  '[tool] get_weather {"city":"Paris"}' \
  "[tool result] 18C and sunny" \
  "Copilot: It is 18C and sunny in Paris right now, a fine afternoon for a walk along the Seine." \
  '![tool failed]'

run_case deny deny \
  "You: $PROMPT" \
  '[permission] denied: Copilot wants to run the tool get_weather with {"city":"Paris"}.' \
  "Copilot: Let me look up the current weather in Paris for you." \
  "[tool failed] The user rejected this tool call. User feedback: Denied in the gtk-chat window." \
  "Copilot: You denied the get_weather tool, so I cannot tell you the weather in Paris." \
  '![tool result]' \
  '!18C and sunny'

summary
