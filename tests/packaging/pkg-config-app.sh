#!/bin/sh
# Builds a C program the way a pkg-config user would, then runs it.
# Usage: pkg-config-app.sh SOURCE.c OUTPUT
set -eu
cc -std=c11 -Wall -Wextra -Werror "$1" -o "$2" \
  $(pkg-config --cflags --libs copilot) -Wl,-rpath,"$(pkg-config --variable=libdir copilot)"
# The program loads the installed library by its SONAME.
readelf -d "$2" | grep -q 'NEEDED.*\[libcopilot\.so\.[0-9][0-9]*\]' || {
  echo "pkg-config-app: $2 does not link libcopilot by its SONAME" >&2; exit 1; }
exec "$2"
