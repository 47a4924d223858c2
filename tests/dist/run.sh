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

# make test builds the wheels of the oldest and the newest supported Python
# (make dist alone builds all five).
export HOTPATH_DIST_PYTHONS=${HOTPATH_DIST_PYTHONS:-3.9 3.13}
if [ "${1:-}" != --no-build ]; then
  if ! make --no-print-directory dist JOBS="${JOBS:-2}" PYTHON="$py" >"${TMPDIR:-/tmp}/hotpath-dist-build.log" 2>&1; then
    not_ok "make dist"
    tail -n 40 "${TMPDIR:-/tmp}/hotpath-dist-build.log"
    echo "dist: $passed passed, $failed failed"
    exit 1
  fi
  ok "make dist"
fi

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
# The newest glibc symbol version a binary refers to is at most 2.28.
glibc_at_most_2_28() {
  local newest
  newest=$(objdump -T "$1" | grep -oE 'GLIBC_2\.[0-9]+(\.[0-9]+)?' | sort -V | tail -n 1)
  echo "$1: newest glibc symbol version $newest"
  [ "$(printf '%s\n' "$newest" GLIBC_2.28 | sort -V | tail -n 1)" = GLIBC_2.28 ]
}
# The licence and the third-party notices, the same as in the checkout.
has_the_notices() { # LISTING-COMMAND PREFIX ARCHIVE
  local file
  for file in LICENSE THIRD_PARTY_NOTICES; do
    cmp -s <("$1" "$3" "$2$file") "$file" || { echo "$3: $2$file is missing or differs from ./$file"; return 1; }
  done
}
unzip_file() { unzip -p "$1" "$2"; }
untar_file() { tar -xzOf "$1" "$2"; }

# --- the wheels -----------------------------------------------------------
# wheel_installs_and_runs WHEEL PYTHON VENV
wheel_installs_and_runs() {
  "$2" -m venv "$3" &&
    "$3/bin/python" -m pip install -q --no-index --no-cache-dir "$root/$1" &&
    (cd "$work" && env -u PYTHONPATH -u LD_PRELOAD "$3/bin/python" "$work/smoke.py" "$work/data")
}
# The installed extension links its libraries statically (libuv and
# libstdc++ included) and needs no glibc newer than 2.28.
wheel_needs_only_glibc_2_28() { # VENV
  local site so
  site=$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])') || return 1
  so=$(ls "$site"/hotpath/_hotpath*.so) || return 1
  ldd "$so"
  if ldd "$so" | grep -E 'uv|hiredis|maxminddb|sqlite|libz\.|deflate|farmhash|crypto|re2|stdc\+\+|gcc_s|not found'; then
    echo "the extension needs the above"; return 1
  fi
  only_glibc "$so" && glibc_at_most_2_28 "$so" || return 1
  [ ! -e "$site/hotpath.libs" ] || { echo "the wheel bundles libraries: $(ls "$site/hotpath.libs")"; return 1; }
}
# The console script and python -m hotpath look an address up.
wheel_command_runs() { # VENV
  local out
  out=$(cd "$work" && env -u PYTHONPATH "$1/bin/hotpath" geo lookup --db data/GeoIP2-City-Test.mmdb 81.2.69.160) &&
    echo "$out" | grep -F '"iso_code":"GB"' >/dev/null &&
    [ "$(cd "$work" && env -u PYTHONPATH "$1/bin/python" -m hotpath geo lookup --db data/GeoIP2-City-Test.mmdb 81.2.69.160)" = "$out" ]
}
sdist_has_the_sources() {
  local list
  list=$(tar -tzf "$sdist") || return 1
  for f in pyproject.toml CMakeLists.txt packaging/static_deps.cmake libengine/include/hotpath.h \
    bindings/python/hotpath/_hotpath.pyi bindings/python/hotpath/__init__.py; do
    echo "$list" | grep "^hotpath-[^/]*/$f\$" >/dev/null || { echo "sdist lacks $f"; return 1; }
  done
}

read -r -a dist_versions <<<"$HOTPATH_DIST_PYTHONS"
for v in "${dist_versions[@]}"; do
  tag=cp${v/./}
  wheel=$(ls dist/hotpath-*-"$tag"-"$tag"-manylinux_2_28_x86_64.whl 2>/dev/null | head -n 1)
  if [ -z "$wheel" ]; then
    not_ok "wheel $tag: dist/ has no $tag manylinux_2_28 wheel ($(ls dist | tr '\n' ' '))"
    continue
  fi
  echo "# wheel: $wheel"
  interp=$(bash packaging/pythons.sh "$v") || { not_ok "wheel $tag: no Python $v to install it with"; continue; }
  check "wheel $tag: installs into a fresh Python $v venv and passes the smoke script there" \
    wheel_installs_and_runs "$wheel" "$interp" "$work/venv-$tag"
  check "wheel $tag: the installed extension needs only glibc, at most 2.28" \
    wheel_needs_only_glibc_2_28 "$work/venv-$tag"
  name=$(basename "$wheel")
  check "wheel $tag: installs the hotpath command" wheel_command_runs "$work/venv-$tag"
  check "wheel $tag: carries LICENSE and THIRD_PARTY_NOTICES" \
    has_the_notices unzip_file "${name%%-cp*}.dist-info/licenses/" "$wheel"
done
if [ -n "$sdist" ]; then
  check "sdist: holds the build files and sources" sdist_has_the_sources
  name=$(basename "$sdist")
  check "sdist: carries LICENSE and THIRD_PARTY_NOTICES" has_the_notices untar_file "${name%.tar.gz}/" "$sdist"
else
  not_ok "sdist: dist/ has no sdist"
fi

# --- the npm tarball ------------------------------------------------------
# The prebuild is named for the C library too: glibc here.
platform=$(node -p 'process.platform + "-" + process.arch')-glibc
tarball_contents() {
  local list
  list=$(tar -tzf "$tarball") || return 1
  for f in package.json bindings/node/index.d.ts bindings/node/index.mjs bindings/node/index.d.mts bindings/node/bin/hotpath.js \
    bindings/node/maxmind.mjs bindings/node/lib/index.js bindings/node/lib/prebuild.js packaging/build-node.js \
    packaging/static_deps.cmake packaging/glibc_compat.cmake packaging/glibc_compat/glibc_compat.c \
    bindings/node/CMakeLists.txt libengine/include/hotpath.h "prebuilds/$platform/hotpath.node"; do
    echo "$list" | grep -x "package/$f" >/dev/null || { echo "tarball lacks $f"; return 1; }
  done
  if echo "$list" | grep -E '^package/(build|tests|bench|node_modules)/'; then echo "tarball holds the above"; return 1; fi
}
prebuild_is_self_contained() {
  mkdir -p "$work/tgz" && tar -xzf "$tarball" -C "$work/tgz" || return 1
  local addon="$work/tgz/package/prebuilds/$platform/hotpath.node"
  ldd "$addon"
  only_glibc "$addon" && glibc_at_most_2_28 "$addon" || return 1
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
npm_command_runs() {
  (cd "$work/npm" && npx --no-install hotpath geo lookup --db "$work/data/GeoIP2-City-Test.mmdb" 81.2.69.160) |
    grep -F '"iso_code":"GB"' >/dev/null
}
# Where no prebuild fits and the build tools are missing, loading and
# rebuilding both say what to do: the error names the platform and `npm
# rebuild`, the rebuild (the install script, with a PATH that has node and
# nothing else) the packages to install.
fallback_explains_itself() {
  local pkg="$work/npm/node_modules/hotpath" out
  rm -rf "$pkg/prebuilds" "$pkg/build" || return 1
  out=$(cd "$work/npm" && node -e 'require("hotpath")' 2>&1) && { echo "require succeeded without an addon"; return 1; }
  echo "$out" | grep -F "no native addon loads here ($platform" >/dev/null &&
    echo "$out" | grep -F 'npm rebuild hotpath' >/dev/null || { echo "$out"; return 1; }
  mkdir -p "$work/only-node" && ln -sf "$(command -v node)" "$work/only-node/node"
  out=$(cd "$pkg" && PATH="$work/only-node" node packaging/build-node.js 2>&1) && { echo "the build did not fail"; return 1; }
  echo "$out"
  echo "$out" | grep -E '^  (sudo )?apt-get install -y cmake pkg-config g\+\+ make libuv1-dev .*libssl-dev$' >/dev/null
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
  check "npm: the tarball carries LICENSE and THIRD_PARTY_NOTICES" has_the_notices untar_file package/ "$tarball"
  check "npm: the prebuilt addon needs only glibc and node's own libuv" prebuild_is_self_contained
  check "npm: installs into a fresh project and passes the smoke script there" tarball_installs_and_runs
  check "npm: installs the hotpath command (npx hotpath)" npm_command_runs
  check "npm: without a prebuild that fits or the build tools, it says what to install" fallback_explains_itself
  if [ "${HOTPATH_DIST_SOURCE_BUILD:-}" = 1 ]; then
    check "npm: without the prebuild, builds from the tarball's sources and passes the smoke script" \
      tarball_builds_from_source
  fi
else
  not_ok "npm: dist/ has no tarball"
fi

echo "dist: $passed passed, $failed failed"
[ "$failed" = 0 ]
