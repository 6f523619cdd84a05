#!/usr/bin/env bash
# The NuGet package as a consumer outside the repository uses it: packs it
# (bindings/dotnet/pack.sh, with the library installed under PREFIX), unpacks
# it the way NuGet restores (packages/github.copilot/VERSION/), compiles
# dotnet-consumer/Program.cs against its lib/netstandard2.0 assembly with mcs,
# and runs under Mono with no LD_LIBRARY_PATH:
#   - build output as MSBuild lays it out (GitHub.Copilot.dll beside the exe,
#     runtimes/linux-x64/native/libcopilot.so below): one offline turn;
#   - a flat output (libcopilot.so beside the dll), and the assembly loaded
#     from the unpacked package itself (MONO_PATH): the library loads from there;
#   - no native library: a CopilotException saying where it looked.
# Usage: dotnet-consumer.sh PREFIX     (run by tests/packaging/run.sh through ctest)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
prefix="$1"
unset LD_LIBRARY_PATH MONO_PATH

tmp="$(mktemp -d "${TMPDIR:-/tmp}/copilot-dotnet-consumer.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
case "$tmp/" in "$root"/*) echo "dotnet-consumer: $tmp is inside the repository" >&2; exit 1 ;; esac

lib="$(ls "$prefix"/lib/libcopilot.so.[0-9]* | head -1)"
nupkg="$("$root/bindings/dotnet/pack.sh" --lib "$lib" --out "$tmp/feed")"
echo "dotnet-consumer: packed $(basename "$nupkg")"
version="$(basename "$nupkg" .nupkg)"; version="${version#GitHub.Copilot.}"
pkg="$tmp/packages/github.copilot/$version"
python3 -m zipfile -e "$nupkg" "$pkg"
for f in GitHub.Copilot.nuspec lib/netstandard2.0/GitHub.Copilot.dll runtimes/linux-x64/native/libcopilot.so; do
  [ -f "$pkg/$f" ] || { echo "dotnet-consumer: the package has no $f" >&2; exit 1; }
done

app="$tmp/app"
mkdir -p "$app/bin/runtimes/linux-x64/native" "$app/flat" "$app/inplace" "$app/missing"
cp "$here/dotnet-consumer/Program.cs" "$app/"
# The Mono compile line a consumer uses (README, .NET section).
mcs -nologo -pkg:newtonsoft-json -r:"$pkg/lib/netstandard2.0/GitHub.Copilot.dll" \
  -out:"$app/bin/Consumer.exe" "$app/Program.cs"
cp "$pkg/lib/netstandard2.0/GitHub.Copilot.dll" "$app/bin/"
cp "$pkg/runtimes/linux-x64/native/libcopilot.so" "$app/bin/runtimes/linux-x64/native/"
cp "$app/bin/Consumer.exe" "$app/bin/GitHub.Copilot.dll" "$app/flat/"
cp "$pkg/runtimes/linux-x64/native/libcopilot.so" "$app/flat/"
cp "$app/bin/Consumer.exe" "$app/inplace/"
cp "$app/bin/Consumer.exe" "$app/bin/GitHub.Copilot.dll" "$app/missing/"

expect_from() { # expect_from LABEL PATTERN COMMAND...: the command's output must match
  local label="$1" pattern="$2" out status=0
  shift 2
  out="$("$@" 2>&1)" || status=$?
  printf '%s: %s\n' "$label" "$out"
  [ "$status" -eq 0 ] && printf '%s\n' "$out" | grep -q -- "$pattern" && return 0
  echo "dotnet-consumer: $label: exit status $status, or no line matching '$pattern'" >&2
  exit 1
}
expect_from flat "from $app/flat/libcopilot.so" mono "$app/flat/Consumer.exe" --version
expect_from inplace "from $pkg/runtimes/linux-x64/native/libcopilot.so" \
  env MONO_PATH="$pkg/lib/netstandard2.0" mono "$app/inplace/Consumer.exe" --version

if ldconfig -p 2>/dev/null | grep -q 'libcopilot\.so '; then
  echo "dotnet-consumer: missing-library case skipped: the system loader has a libcopilot.so"
else
  status=0
  out="$(mono "$app/missing/Consumer.exe" --version 2>&1)" || status=$?
  printf 'missing: %s\n' "$out"
  if [ "$status" -ne 3 ] || ! printf '%s\n' "$out" | grep -q "^CopilotException: .*Looked for libcopilot.so in $app/missing/libcopilot.so, $app/missing/runtimes/linux-x64/native/libcopilot.so"; then
    echo "dotnet-consumer: without libcopilot.so the wrapper must throw CopilotException naming where it looked (exit $status)" >&2
    exit 1
  fi
fi

# The turn, in the MSBuild layout; expect-output.sh (ctest) checks the final answer.
out="$(mono "$app/bin/Consumer.exe" 2>&1)" || { printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q "^\[native\] $app/bin/runtimes/linux-x64/native/libcopilot.so" || {
  echo "dotnet-consumer: the turn did not use the package's runtimes/linux-x64/native/libcopilot.so" >&2; exit 1; }
