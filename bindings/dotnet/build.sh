#!/usr/bin/env bash
# Builds the .NET wrapper with Mono's mcs (C# 7.2 subset) into target/dotnet.
#   build.sh        build the library, tests and example
#   build.sh test [-run=Fixture.Test,...]   ... then run the NUnit tests (all, or those named),
#                   printing "N passed, N failed"
#   build.sh chat   ... then run the example (offline by default)
#   build.sh bench [events] [toolCalls]   ... then run the wrapper benchmarks
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/target/dotnet"
src="$root/bindings/dotnet"
nunit=/usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll
mkdir -p "$out"
mcs_() { mcs -langversion:7.2 -nologo -unsafe -pkg:newtonsoft-json "$@"; }
mcs_ -target:library -out:"$out/GitHub.Copilot.dll" "$src"/src/*.cs "$src"/src/Generated/*.cs
mcs_ -target:library -out:"$out/GitHub.Copilot.Tests.dll" -r:"$nunit" -r:"$out/GitHub.Copilot.dll" \
  "$src/tests/Harness.cs" "$src/tests/CopilotTests.cs" "$src/tests/ReplayServerTests.cs" "$src/tests/TypedEventsTests.cs" "$src/tests/TypedRpcTests.cs" "$src/tests/OfficialApiTests.cs" "$src/tests/SynchronizationContextTests.cs" "$src/tests/LazyEventsTests.cs"
mcs_ -out:"$out/ExitProbe.exe" -r:"$out/GitHub.Copilot.dll" "$src/tests/ExitProbe.cs"
mcs_ -out:"$out/Chat.exe" -r:"$out/GitHub.Copilot.dll" "$src/examples/Chat/Program.cs"
mcs_ -out:"$out/Bench.exe" -r:"$out/GitHub.Copilot.dll" "$src/bench/Bench.cs"
export LD_LIBRARY_PATH="$root/target/debug${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
case "${1:-}" in
  test)
    shift
    cd "$out"
    status=0
    COPILOT_REPO="$root" nunit-console -nologo -noshadow GitHub.Copilot.Tests.dll -xml=TestResult.xml "$@" || status=$?
    python3 - <<'PY'
import xml.etree.ElementTree as ET
r = ET.parse("TestResult.xml").getroot().attrib
failed = int(r["failures"]) + int(r["errors"])
print(f"dotnet: {int(r['total']) - failed - int(r['not-run'])} passed, {failed} failed")
PY
    exit $status ;;
  chat)
    cd "$root" && mono "$out/Chat.exe" "$root" ;;
  bench)
    shift
    mono "$out/Bench.exe" "$@" ;;
esac
