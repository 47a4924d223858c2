#!/usr/bin/env bash
# Installs what `make dist` builds the way a user would, outside the checkout,
# and runs a smoke script against each: the wheel in a fresh venv, the npm
# tarball in a fresh npm project. Prints TAP-style lines and a closing
# "dist: N passed, N failed". Usage: tests/dist/run.sh [--no-build]
# (--no-build uses dist/ as it is). HOTPATH_DIST_SOURCE_BUILD=1 also installs
# the tarball with its prebuilt addon refused, so the addon builds from the
# tarball's sources (several minutes).
# grep -q would stop reading early and, under pipefail, fail the pipeline
# with the writer's SIGPIPE: the checks below let grep read everything.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
py=${PYTHON:-python3}
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }
# check NAME COMMAND...: one test; its output is shown only when it fails.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    ok "$name"
    # What the smoke scripts say they loaded, as evidence.
    echo "$out" | grep -E '^(installed|smoke):' | sed 's/^/# /' || true
  else
    not_ok "$name"
    echo "$out" | sed 's/^/    /'
  fi
}

if [ "${1:-}" != --no-build ]; then
  if ! make --no-print-directory dist JOBS="${JOBS:-2}" PYTHON="$py" >"${TMPDIR:-/tmp}/hotpath-dist-build.log" 2>&1; then
    not_ok "make dist"
    tail -n 40 "${TMPDIR:-/tmp}/hotpath-dist-build.log"
    echo "dist: $passed passed, $failed failed"
    exit 1
  fi
  ok "make dist"
fi

wheel=$(ls dist/hotpath-*.whl 2>/dev/null | head -n 1)
sdist=$(ls dist/hotpath-*.tar.gz 2>/dev/null | head -n 1)
tarball=$(ls dist/hotpath-*.tgz 2>/dev/null | head -n 1)
work=$(mktemp -d "${TMPDIR:-/tmp}/hotpath-dist-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
cp tests/fixtures/maxmind/test-data/GeoIP2-City-Test.mmdb "$work/data/"
# The smoke scripts run from the temporary folder: from inside the checkout,
# require('hotpath') would resolve to the checkout itself.
cp tests/dist/smoke.py tests/dist/smoke.js "$work/"

# Libraries a self-contained binary may still need: glibc's own.
only_glibc() {
  local extra
  extra=$(ldd "$1" | awk '{print $1}' | grep -vE '^(linux-vdso\.so|/lib64/ld-linux-x86-64\.so|libc\.so|libm\.so|libpthread\.so|libdl\.so|librt\.so)' || true)
  [ -z "$extra" ] || { echo "$1 needs: $extra"; return 1; }
}

# --- the wheel ----------------------------------------------------------
wheel_installs_and_runs() {
  "$py" -m venv "$work/venv" &&
    "$work/venv/bin/python" -m pip install -q --no-index --no-cache-dir "$root/$wheel" &&
    (cd "$work" && env -u PYTHONPATH -u LD_PRELOAD "$work/venv/bin/python" "$work/smoke.py" "$work/data")
}
# The installed extension links its libraries statically; libuv (whose Debian
# archive is not PIC) is the wheel's own copy in hotpath.libs/.
wheel_needs_only_glibc() {
  local site so lib
  site=$("$work/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])') || return 1
  so=$(ls "$site"/hotpath/_hotpath*.so) || return 1
  ldd "$so"
  if ldd "$so" | grep -E 'hiredis|maxminddb|sqlite|libz\.|deflate|farmhash|stdc\+\+|gcc_s|not found'; then
    echo "the extension needs the above"; return 1
  fi
  for lib in $(ldd "$so" | awk '$3 ~ /^\// {print $3}'); do
    case "$lib" in
      "$site"/hotpath.libs/libuv*) only_glibc "$lib" || return 1 ;;
      */libc.so*|*/libm.so*|*/libpthread.so*|*/libdl.so*|*/librt.so*) ;;
      *) echo "needs $lib"; return 1 ;;
    esac
  done
  ldd "$so" | grep "$site/hotpath.libs/libuv" >/dev/null || { echo "libuv is not the wheel's own copy"; return 1; }
}
sdist_has_the_sources() {
  local list
  list=$(tar -tzf "$sdist") || return 1
  for f in pyproject.toml CMakeLists.txt packaging/static_deps.cmake libengine/include/hotpath.h \
    bindings/python/hotpath/_hotpath.pyi bindings/python/hotpath/__init__.py; do
    echo "$list" | grep "^hotpath-[^/]*/$f\$" >/dev/null || { echo "sdist lacks $f"; return 1; }
  done
}

if [ -n "$wheel" ]; then
  echo "# wheel: $wheel"
  check "wheel: installs into a fresh venv and passes the smoke script there" wheel_installs_and_runs
  check "wheel: the installed extension needs only glibc and the libuv the wheel carries" wheel_needs_only_glibc
else
  not_ok "wheel: dist/ has no wheel"
fi
if [ -n "$sdist" ]; then
  check "sdist: holds the build files and sources" sdist_has_the_sources
else
  not_ok "sdist: dist/ has no sdist"
fi

# --- the npm tarball ------------------------------------------------------
platform=$(node -p 'process.platform + "-" + process.arch')
tarball_contents() {
  local list
  list=$(tar -tzf "$tarball") || return 1
  for f in package.json bindings/node/index.d.ts bindings/node/lib/index.js packaging/build-node.js \
    bindings/node/CMakeLists.txt libengine/include/hotpath.h "prebuilds/$platform/hotpath.node"; do
    echo "$list" | grep -x "package/$f" >/dev/null || { echo "tarball lacks $f"; return 1; }
  done
  if echo "$list" | grep -E '^package/(build|tests|bench|node_modules)/'; then echo "tarball holds the above"; return 1; fi
}
prebuild_is_self_contained() {
  mkdir -p "$work/tgz" && tar -xzf "$tarball" -C "$work/tgz" || return 1
  local addon="$work/tgz/package/prebuilds/$platform/hotpath.node"
  ldd "$addon"
  only_glibc "$addon" || return 1
  # node's own libuv: the addon defines no uv_* symbol and only refers to node's.
  if nm -D --defined-only "$addon" | grep -w 'uv_[a-z_]*'; then echo "the addon defines libuv symbols"; return 1; fi
  nm -D --undefined-only "$addon" | grep ' uv_' >/dev/null
}
# npm_project DIR [ENV...]: a fresh npm project with the tarball installed.
npm_project() {
  local dir=$1
  shift
  mkdir -p "$dir" && (cd "$dir" && npm init -y >/dev/null &&
    env "$@" npm install --prefer-offline --no-audit --no-fund --loglevel=error "$root/$tarball")
}
tarball_installs_and_runs() {
  npm_project "$work/npm" && cp "$work/smoke.js" "$work/npm/" && (cd "$work/npm" && node smoke.js "$work/data")
}
tarball_builds_from_source() {
  # As on a platform the prebuild does not fit: the install builds, and the
  # package then loads what it built.
  npm_project "$work/npm-src" HOTPATH_BUILD_FROM_SOURCE=1 &&
    rm -rf "$work/npm-src/node_modules/hotpath/prebuilds" && cp "$work/smoke.js" "$work/npm-src/" &&
    (cd "$work/npm-src" && HOTPATH_SMOKE_EXPECT_ADDON=build/node/hotpath.node node smoke.js "$work/data")
}

if [ -n "$tarball" ]; then
  echo "# npm: $tarball"
  check "npm: the tarball holds types, sources and the $platform prebuild" tarball_contents
  check "npm: the prebuilt addon needs only glibc and node's own libuv" prebuild_is_self_contained
  check "npm: installs into a fresh project and passes the smoke script there" tarball_installs_and_runs
  if [ "${HOTPATH_DIST_SOURCE_BUILD:-}" = 1 ]; then
    check "npm: without the prebuild, builds from the tarball's sources and passes the smoke script" \
      tarball_builds_from_source
  fi
else
  not_ok "npm: dist/ has no tarball"
fi

echo "dist: $passed passed, $failed failed"
[ "$failed" = 0 ]
