#!/usr/bin/env bash
# `make test-pythons`: the Python suite under every supported Python (3.9 to
# 3.13, packaging/pythons.sh; PYTHONS="3.9 3.13" picks some). Each version
# gets its own build of the module (build/py<XY>, the engine's objects come
# from ccache after the first) and runs tests/python against it. Prints a
# line per version and "pythons: N passed, N failed" (versions).
set -uo pipefail
cd "$(dirname "$0")/../.."
read -r -a versions <<<"${PYTHONS:-3.9 3.10 3.11 3.12 3.13}"
passed=0
failed=0
for v in "${versions[@]}"; do
  py=$(bash packaging/pythons.sh "$v") || { echo "not ok - Python $v: no interpreter"; failed=$((failed + 1)); continue; }
  build=build/py${v/./}
  log=$(mktemp)
  if cmake -S . -B "$build" -G Ninja -DHP_WERROR=ON -DHP_BUILD_TESTS=OFF -DHP_BUILD_PYTHON=ON \
      -DPython_EXECUTABLE="$py" >"$log" 2>&1 &&
    cmake --build "$build" --target _hotpath --parallel "${JOBS:-2}" >>"$log" 2>&1; then
    if PYTHONPATH="bindings/python:$build/python" "$py" -m pytest -q -p no:cacheprovider tests/python >"$log" 2>&1; then
      echo "ok - Python $v ($py): $(tail -n 1 "$log")"
      passed=$((passed + 1))
    else
      echo "not ok - Python $v ($py)"
      tail -n 40 "$log" | sed 's/^/    /'
      failed=$((failed + 1))
    fi
  else
    echo "not ok - Python $v: the module did not build"
    tail -n 30 "$log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
  rm -f "$log"
done
echo "pythons: $passed passed, $failed failed"
[ "$failed" = 0 ]
