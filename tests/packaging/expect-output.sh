#!/bin/sh
# Runs a program and passes only if it exits 0 and its output matches PATTERN.
# Usage: expect-output.sh PATTERN PROGRAM [ARGS...]
set -u
pattern="$1"; shift
out="$("$@" 2>&1)"; status=$?
printf '%s\n' "$out"
[ "$status" -eq 0 ] || { echo "expect-output: $1 exited with $status" >&2; exit 1; }
printf '%s\n' "$out" | grep -q -- "$pattern" || { echo "expect-output: no line matching '$pattern'" >&2; exit 1; }
