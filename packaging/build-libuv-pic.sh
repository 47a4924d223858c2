#!/usr/bin/env bash
# Builds build/libuv-pic/libuv.a: libuv as position-independent code, so the
# wheel links it into its extension like its other libraries (Debian's
# libuv_a.a is not PIC; a bundled libuv.so.1 from Debian would need glibc
# 2.34). The source is Debian's, of the installed libuv1 (same version as the
# headers the engine compiles against; packaging/install-deps.sh
# --libuv-source fetches it). Does nothing when the archive for that version
# is there.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/libuv-pic}
version=$(dpkg-query -W -f='${Version}' libuv1)
if [ -f "$out/libuv.a" ] && [ "$(cat "$out/version" 2>/dev/null)" = "$version" ]; then exit 0; fi
src=$(bash packaging/install-deps.sh --libuv-source build/libuv-src | tail -n 1)
cmake -S "$src" -B "$out/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DBUILD_TESTING=OFF -DLIBUV_BUILD_TESTS=OFF -DLIBUV_BUILD_BENCH=OFF >/dev/null
cmake --build "$out/build" --target uv_a --parallel "${JOBS:-2}" >/dev/null
cp "$out/build/libuv_a.a" "$out/libuv.a"
echo "$version" >"$out/version"
echo "build-libuv-pic: $out/libuv.a (libuv $version, PIC)"
