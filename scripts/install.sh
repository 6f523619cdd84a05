#!/usr/bin/env bash
# Builds libcopilot in release mode and installs it under a prefix:
#
#   lib/libcopilot.so.ABI      the shared library, SONAME libcopilot.so.ABI
#   lib/libcopilot.so          the link-time name (symlink)
#   lib/libcopilot.a           with --static
#   include/copilot.h, copilot_events.h, copilot.hpp (and copilot_types.hpp,
#                              the optional typed layer on nlohmann/json)
#   lib/pkgconfig/copilot.pc   `pkg-config --cflags --libs copilot`
#   lib/cmake/copilot/         `find_package(copilot)` → copilot::copilot
#                              (and copilot::copilot_static with --static)
#   bin/copilot-replay         the offline model server, for your own tests
#
# Usage: scripts/install.sh [--prefix DIR] [--static] [--no-replay] [--no-strip]
# PREFIX defaults to /usr/local. Needs cargo and a C toolchain.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

prefix=/usr/local
static=0
replay=1
strip=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --static) static=1; shift ;;
    --no-replay) replay=0; shift ;;
    --no-strip) strip=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
abi="$(sed -n 's/^abi-version = \([0-9]*\)/\1/p' Cargo.toml)"
soname="libcopilot.so.$abi"
# The SONAME is set here, not in build.rs: development builds keep a plain
# libcopilot.so that the Go and .NET wrappers load from target/. The
# installed build has a target directory of its own, so target/release is
# left as it was (a SONAME there would name a file nothing provides).
export CARGO_TARGET_DIR="$root/target/install"
out="$CARGO_TARGET_DIR/release"
cargo rustc --quiet --release -p copilot --lib --crate-type cdylib -- \
  -C "link-arg=-Wl,-soname,$soname"

if [ "$static" = 1 ]; then
  # rustc names the system libraries a static Rust library needs; it prints
  # them only when it compiles, so the answer is kept beside the archive.
  libs_file="$out/copilot-native-static-libs.txt"
  log="$(mktemp)"
  cargo rustc --release -p copilot --lib --crate-type staticlib -- \
    --print native-static-libs 2>"$log" || { cat "$log" >&2; exit 1; }
  libs="$(sed -n 's/.*native-static-libs: //p' "$log" | tail -1)"
  rm -f "$log"
  if [ -n "$libs" ]; then
    echo "$libs" >"$libs_file"
  fi
  [ -s "$libs_file" ] || { echo "install.sh: rustc did not name the static libraries; run cargo clean -p copilot --release" >&2; exit 1; }
  static_libs="$(cat "$libs_file")"
fi

[ "$replay" = 1 ] && cargo build --quiet --release -p copilot-replay

install -d "$prefix/lib/pkgconfig" "$prefix/lib/cmake/copilot" "$prefix/include"
install -m 755 "$out/libcopilot.so" "$prefix/lib/$soname"
[ "$strip" = 1 ] && strip --strip-unneeded "$prefix/lib/$soname"
ln -sf "$soname" "$prefix/lib/libcopilot.so"
if [ "$static" = 1 ]; then
  install -m 644 "$out/libcopilot.a" "$prefix/lib/libcopilot.a"
  [ "$strip" = 1 ] && strip --strip-debug "$prefix/lib/libcopilot.a"
fi
install -m 644 include/copilot.h include/copilot_events.h include/copilot.hpp include/copilot_types.hpp \
  include/copilot_replay.hpp "$prefix/include/"
if [ "$replay" = 1 ]; then
  install -d "$prefix/bin"
  install -m 755 "$out/copilot-replay" "$prefix/bin/copilot-replay"
fi

# pkg-config: relocatable through ${pcfiledir}.
cat >"$prefix/lib/pkgconfig/copilot.pc" <<PC
prefix=\${pcfiledir}/../..
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: copilot
Description: libcopilot: GitHub Copilot's agent runtime behind a C ABI
Version: $version
Libs: -L\${libdir} -lcopilot
Libs.private: ${static_libs:-}
Cflags: -I\${includedir}
PC

# CMake package: imported targets located relative to this file.
cmake_libs="$(echo "${static_libs:-}" | sed 's/-l//g; s/ \+/;/g; s/^;//; s/;$//')"
cat >"$prefix/lib/cmake/copilot/copilotConfig.cmake" <<CMAKE
# libcopilot $version (ABI $abi). Targets:
#   copilot::copilot         the shared library (SONAME $soname)
#   copilot::copilot_static  the static library, when installed with --static
get_filename_component(_copilot_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET copilot::copilot)
  add_library(copilot::copilot SHARED IMPORTED)
  set_target_properties(copilot::copilot PROPERTIES
    IMPORTED_LOCATION "\${_copilot_prefix}/lib/$soname"
    IMPORTED_SONAME "$soname"
    INTERFACE_INCLUDE_DIRECTORIES "\${_copilot_prefix}/include")
endif()
if(EXISTS "\${_copilot_prefix}/lib/libcopilot.a" AND NOT TARGET copilot::copilot_static)
  add_library(copilot::copilot_static STATIC IMPORTED)
  set_target_properties(copilot::copilot_static PROPERTIES
    IMPORTED_LOCATION "\${_copilot_prefix}/lib/libcopilot.a"
    IMPORTED_LINK_INTERFACE_LANGUAGES "C"
    INTERFACE_INCLUDE_DIRECTORIES "\${_copilot_prefix}/include"
    INTERFACE_LINK_LIBRARIES "$cmake_libs")
endif()
set(copilot_ABI_VERSION $abi)
unset(_copilot_prefix)
CMAKE

cat >"$prefix/lib/cmake/copilot/copilotConfigVersion.cmake" <<CMAKE
# Compatible with requests for the same major version, up to $version.
set(PACKAGE_VERSION "$version")
if(PACKAGE_FIND_VERSION_MAJOR STREQUAL "" OR
   (PACKAGE_FIND_VERSION_MAJOR EQUAL "${version%%.*}" AND
    NOT PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION))
  set(PACKAGE_VERSION_COMPATIBLE TRUE)
  if(PACKAGE_FIND_VERSION VERSION_EQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
else()
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
endif()
CMAKE

echo "installed libcopilot $version (ABI $abi) under $prefix"
