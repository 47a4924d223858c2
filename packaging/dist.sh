#!/usr/bin/env bash
# `make dist`: builds into dist/
#   hotpath-X.Y.Z.tar.gz                      the sdist (builds against the system's libraries)
#   hotpath-X.Y.Z-cpXY-cpXY-manylinux_2_28_x86_64.whl
#                                             a wheel per Python version (HOTPATH_DIST_PYTHONS,
#                                             default 3.9 3.10 3.11 3.12 3.13); its extension
#                                             hotpath._hotpath links libuv, hiredis, libmaxminddb,
#                                             SQLite, zlib, libdeflate, RE2, libcrypto and
#                                             libstdc++ statically and needs only glibc 2.28
#   hotpath-X.Y.Z.tgz                         the npm tarball with prebuilds/linux-x64-glibc/hotpath.node
#                                             (static the same way, node's own libuv and
#                                             libcrypto, glibc 2.28 like the wheels) and the
#                                             sources for a build on platforms without a prebuild
# One wheel per version: pybind11 builds against each version's C API (no
# abi3). Build directories are kept (build/cp*-*, build/node), so a second
# run only relinks; the engine's objects are the same for every version, so
# with ccache (CMAKE_CXX_COMPILER_LAUNCHER) each further version compiles
# only the binding.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
out=dist
out_abs=$PWD/$out
rm -rf "$out" && mkdir -p "$out"
read -r -a versions <<<"${HOTPATH_DIST_PYTHONS:-3.9 3.10 3.11 3.12 3.13}"
mapfile -t pythons < <(bash packaging/pythons.sh "${versions[@]}")
[ ${#pythons[@]} = ${#versions[@]} ] || { echo "dist: an interpreter is missing (above)" >&2; exit 1; }

echo "== sdist =="
# --no-isolation: the build tools come from packaging/install-deps.sh, offline.
"$py" -m build --no-isolation --sdist --outdir "$out" .

echo "== wheels: Python ${versions[*]} =="
# PIC builds of RE2 and libuv (Debian's archives cannot go into a shared object).
bash packaging/build-re2-pic.sh
bash packaging/build-libuv-pic.sh
export HOTPATH_RE2_PIC_ARCHIVE=$PWD/build/re2-pic/libre2.a HOTPATH_UV_PIC_ARCHIVE=$PWD/build/libuv-pic/libuv.a
raw=build/wheels-raw
rm -rf "$raw" && mkdir -p "$raw"
for interp in "${pythons[@]}"; do
  HOTPATH_STATIC_DEPS=ON "$interp" -m build --no-isolation --wheel --outdir "$raw" .
done
# auditwheel checks that each extension needs nothing outside glibc and no
# glibc symbol newer than 2.28 (packaging/glibc_compat.cmake), and tags it.
for wheel in "$raw"/hotpath-*-linux_*.whl; do
  "$py" -m auditwheel repair --plat manylinux_2_28_x86_64 --only-plat -w "$out" "$wheel"
done
[ "$(ls "$out"/hotpath-*-manylinux_2_28_x86_64.whl | wc -l)" = ${#versions[@]} ]

echo "== npm tarball =="
node packaging/build-node.js
cmake -S . -B build/node >/dev/null # sees the PIC RE2 archive if build/node predates it
cmake --build build/node --target hotpath_node_prebuild --parallel "${JOBS:-2}"
stage=build/npm-stage
rm -rf "$stage" && mkdir -p "$stage"
# The files package.json selects, as `npm pack` sees them in the checkout.
npm pack --dry-run --json --ignore-scripts 2>/dev/null |
  node -e 'for (const f of JSON.parse(require("fs").readFileSync(0))[0].files) console.log(f.path)' |
  while read -r file; do
    case "$file" in prebuilds/*) continue ;; esac
    mkdir -p "$stage/$(dirname "$file")" && cp "$file" "$stage/$file"
  done
platform=$(node -p 'require("./bindings/node/lib/prebuild").name()') # linux-x64-glibc
mkdir -p "$stage/prebuilds/$platform"
cp build/node/prebuild/hotpath.node "$stage/prebuilds/$platform/hotpath.node"
strip --strip-debug "$stage/prebuilds/$platform/hotpath.node"
(cd "$stage" && npm pack --ignore-scripts --pack-destination "$out_abs" >/dev/null)

echo "== dist =="
ls -l "$out"
