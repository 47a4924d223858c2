#!/usr/bin/env bash
# The C suite (ctest) under ThreadSanitizer, in its own build directory:
# the engine and the C test binaries only, linked to a libuv built with TSan from
# the source of the installed libuv1 package (uninstrumented, its loop and
# thread pool hand data between threads in ways TSan cannot see). Any
# report fails its test binary (halt_on_error, exit code 66).
# Usage: tests/tsan/run.sh [BUILD_DIR]   (default build/tsan)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/tsan}
jobs=${JOBS:-$(nproc)}
uv=$build-libuv

if [ ! -f "$uv/out/libuv_a.a" ]; then
  src=$(bash packaging/install-deps.sh --libuv-source "$uv" | tail -1)
  cmake -S "$src" -B "$uv/out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSAN=ON \
    -DLIBUV_BUILD_TESTS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON >/dev/null
  cmake --build "$uv/out" --target uv_a --parallel "$jobs"
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHP_SANITIZE=thread -DHP_BUILD_PYTHON=OFF \
  -DHP_UV_LIBRARY="$PWD/$uv/out/libuv_a.a" >/dev/null
# The test binaries only: not the shared library with its header and
# symbol checks, nor the fuzz corpus replays (one thread each). Nor the
# allocation sweep: it replaces malloc, which TSan's runtime does not
# survive (it crashes before main); the dev and ASan builds run it.
tests=$(cd tests/c && ls ./*_test.cc | sed 's|^\./||; s|\.cc$||' | grep -v '^alloc_sweep_test$')
# shellcheck disable=SC2086
cmake --build "$build" --parallel "$jobs" --target $tests

export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
cd "$build" && ctest --output-on-failure -R '_test$' -E '^alloc_sweep_test$'
