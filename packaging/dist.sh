#!/usr/bin/env bash
# `make dist`: builds into dist/
#   hotpath-X.Y.Z.tar.gz                      the sdist (builds against the system's libraries)
#   hotpath-X.Y.Z-cpXY-cpXY-manylinux_*.whl   the wheel; its extension links hiredis, libmaxminddb,
#                                             SQLite, zlib, libdeflate, RE2 and libstdc++ statically and
#                                             carries libuv in hotpath.libs/, so it needs only glibc
#   hotpath-X.Y.Z.tgz                         the npm tarball with prebuilds/<platform>-<arch>/hotpath.node
#                                             (static the same way, node's own libuv) and the
#                                             sources for a build on platforms without a prebuild
# Build directories are kept (build/cp*-*, build/node), so a second run only relinks.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
out=dist
out_abs=$PWD/$out
rm -rf "$out" && mkdir -p "$out"

echo "== wheel and sdist =="
# A PIC build of RE2 (Debian's archive cannot go into a shared object).
bash packaging/build-re2-pic.sh
export HOTPATH_RE2_PIC_ARCHIVE=$PWD/build/re2-pic/libre2.a
# --no-isolation: the build tools come from packaging/install-deps.sh, offline.
HOTPATH_STATIC_DEPS=ON "$py" -m build --no-isolation --sdist --wheel --outdir "$out" .
# auditwheel bundles libuv's shared library into hotpath.libs/ (Debian's
# libuv archive is not PIC, see packaging/static_deps.cmake) and tags the
# wheel manylinux_2_N after checking it needs nothing else outside glibc.
raw=$(ls "$out"/hotpath-*-linux_*.whl)
"$py" -m auditwheel repair -w "$out" "$raw"
rm -f "$raw"
ls "$out"/hotpath-*-manylinux*.whl >/dev/null

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
platform=$(node -p 'process.platform + "-" + process.arch')
mkdir -p "$stage/prebuilds/$platform"
cp build/node/prebuild/hotpath.node "$stage/prebuilds/$platform/hotpath.node"
strip --strip-debug "$stage/prebuilds/$platform/hotpath.node"
(cd "$stage" && npm pack --ignore-scripts --pack-destination "$out_abs" >/dev/null)

echo "== dist =="
ls -l "$out"
