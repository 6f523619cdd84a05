#!/usr/bin/env bash
# Builds the NuGet package of the .NET wrapper and prints its path:
#
#   target/nuget/GitHub.Copilot.VERSION.nupkg
#     GitHub.Copilot.nuspec                         id, version, Newtonsoft.Json dependency
#     lib/netstandard2.0/GitHub.Copilot.dll         compiled by Mono's mcs (see below)
#     lib/netstandard2.0/GitHub.Copilot.xml         its API documentation
#     runtimes/linux-x64/native/libcopilot.so       the release library (SONAME libcopilot.so.ABI),
#                                                   stripped, as scripts/install.sh builds it
#     [Content_Types].xml, _rels/.rels              the OPC parts every .nupkg carries
#
# Usage: bindings/dotnet/pack.sh [--out DIR] [--lib FILE]
#   --out DIR   where to write the .nupkg (default target/nuget)
#   --lib FILE  package this libcopilot.so instead of building one (e.g. PREFIX/lib/libcopilot.so.1
#               after scripts/install.sh)
#
# With no .NET SDK here the assembly is compiled by mcs against Mono's 4.x profile, so it
# references mscorlib rather than netstandard; .NET Core/5+ and .NET Framework load it
# through their mscorlib facades, and it uses only API that netstandard2.0 has. With the
# .NET SDK, `dotnet pack GitHub.Copilot.csproj` builds the same layout natively.
# Needs mcs (tests/support/ensure-mono.sh) and python3 (the zip).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
src="$root/bindings/dotnet"
out="$root/target/nuget"
lib=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --lib) lib="$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "pack.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
license="$(sed -n 's/^license = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
stage="$(mktemp -d "${TMPDIR:-/tmp}/copilot-pack.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/pkg/lib/netstandard2.0" "$stage/pkg/runtimes/linux-x64/native" "$out"

if [ -z "$lib" ]; then
  # The same build scripts/install.sh installs (release, SONAME'd, stripped).
  "$root/scripts/install.sh" --prefix "$stage/prefix" --no-replay >&2
  lib="$(ls "$stage"/prefix/lib/libcopilot.so.[0-9]* | head -1)"
fi
[ -f "$lib" ] || { echo "pack.sh: no library at $lib" >&2; exit 1; }
install -m 755 "$lib" "$stage/pkg/runtimes/linux-x64/native/libcopilot.so"

# Version attributes for this build only (the sources carry none, so the .csproj sets its own).
cat >"$stage/AssemblyInfo.cs" <<CS
[assembly: System.Reflection.AssemblyVersion("$version.0")]
[assembly: System.Reflection.AssemblyFileVersion("$version.0")]
[assembly: System.Reflection.AssemblyInformationalVersion("$version")]
[assembly: System.Reflection.AssemblyProduct("libcopilot")]
CS
mcs -langversion:7.2 -nologo -optimize+ -unsafe -pkg:newtonsoft-json -target:library -nowarn:1591 \
  -doc:"$stage/pkg/lib/netstandard2.0/GitHub.Copilot.xml" \
  -out:"$stage/pkg/lib/netstandard2.0/GitHub.Copilot.dll" "$src"/src/*.cs "$src"/src/Generated/*.cs "$stage/AssemblyInfo.cs"

cat >"$stage/pkg/GitHub.Copilot.nuspec" <<XML
<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd">
  <metadata>
    <id>GitHub.Copilot</id>
    <version>$version</version>
    <title>libcopilot for .NET</title>
    <authors>libcopilot</authors>
    <license type="expression">$license</license>
    <description>C# over libcopilot: GitHub Copilot's agent runtime (the Copilot CLI) through P/Invoke. Includes the native library for linux-x64; the Copilot CLI is needed at run time (npm install -g @github/copilot, or COPILOT_CLI_PATH).</description>
    <tags>copilot github ai agent</tags>
    <dependencies>
      <group targetFramework=".NETStandard2.0">
        <dependency id="Newtonsoft.Json" version="13.0.3" exclude="Build,Analyzers" />
      </group>
    </dependencies>
  </metadata>
</package>
XML

mkdir -p "$stage/pkg/_rels"
cat >"$stage/pkg/_rels/.rels" <<XML
<?xml version="1.0" encoding="utf-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
  <Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/GitHub.Copilot.nuspec" Id="R0" />
</Relationships>
XML
cat >"$stage/pkg/[Content_Types].xml" <<XML
<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" />
  <Default Extension="nuspec" ContentType="application/octet" />
  <Default Extension="dll" ContentType="application/octet" />
  <Default Extension="xml" ContentType="application/octet" />
  <Default Extension="so" ContentType="application/octet" />
</Types>
XML

nupkg="$out/GitHub.Copilot.$version.nupkg"
python3 - "$stage/pkg" "$nupkg" <<'PY'
import os, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
tmp = dst + ".tmp"
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
    # The manifest first, as NuGet writes it; fixed timestamps, so equal inputs give equal bytes.
    files = sorted(os.path.relpath(os.path.join(d, f), src) for d, _, fs in os.walk(src) for f in fs)
    files.sort(key=lambda p: (not p.endswith(".nuspec"), p))
    for rel in files:
        info = zipfile.ZipInfo(rel, date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = (0o755 if rel.endswith(".so") else 0o644) << 16
        with open(os.path.join(src, rel), "rb") as f:
            z.writestr(info, f.read())
os.replace(tmp, dst)
PY
echo "$nupkg"
