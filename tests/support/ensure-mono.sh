#!/usr/bin/env bash
# Makes sure Mono, NUnit 2.6 and Newtonsoft.Json (Debian packages) are
# installed, installing them when running as root with apt.
set -euo pipefail
if command -v mcs >/dev/null && command -v nunit-console >/dev/null \
   && [ -f /usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll ] \
   && pkg-config --exists newtonsoft-json 2>/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "ensure-mono: installing mono-devel, nunit-console, NUnit and Newtonsoft.Json" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    mono-devel nunit-console libnunit-cil-dev libnewtonsoft-json-cil-dev pkg-config >&2
else
  echo "ensure-mono: install mono-devel nunit-console libnunit-cil-dev libnewtonsoft-json-cil-dev" >&2
  exit 1
fi
