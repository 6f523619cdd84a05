#!/usr/bin/env bash
# Installs what tests/gtk/run.sh needs (Debian packages), only those missing,
# so a machine that has them all never touches apt:
#   libgtk-4-dev, libjson-glib-dev, pkg-config  to build examples/gtk-chat
#   xvfb         the virtual X server the app runs in
#   xdotool      types into the app and clicks its buttons
#   imagemagick  `import`, the screenshots
# As root with apt (CI), else through sudo; quiet unless apt fails.
set -euo pipefail
packages=(libgtk-4-dev libjson-glib-dev pkg-config xvfb xdotool imagemagick)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then sudo=(sudo -n); else
    echo "install-deps: install ${missing[*]} (as root: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
command -v apt-get >/dev/null || { echo "install-deps: no apt-get; install ${missing[*]}" >&2; exit 1; }
echo "install-deps: installing ${missing[*]}" >&2
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { timeout 600 "${sudo[@]}" apt-get update -qq &&
  timeout 1200 "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-deps: apt-get failed for ${missing[*]}" >&2
  exit 1
fi
