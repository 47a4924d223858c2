#!/usr/bin/env bash
# Runs every suite (C, Python, Node, end-to-end) and prints one closing
# line with the totals. Usage: tests/run_all.sh BUILD_DIR [asan]
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/dev}
mode=${2:-}
py=${PYTHON:-python3}
log=$(mktemp -d)
passed=0
failed=0
status=0
source tests/support/counts.sh

env_for_bindings=()
if [ "$mode" = asan ]; then
  asan_rt=$(gcc -print-file-name=libasan.so)
  ubsan_rt=$(gcc -print-file-name=libubsan.so)
  env_for_bindings=(LD_PRELOAD="$asan_rt $ubsan_rt" ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
                    HOTPATH_NODE_ADDON="$PWD/${build}-node/hotpath.node")
fi

# Adds the totals of a ctest run logged in $1 (a run that printed none failed).
count_ctest() {
  local total failures
  total=$(grep -oE 'out of [0-9]+' "$1" | tail -1 | grep -oE '[0-9]+' || echo 0)
  failures=$(grep -oE '[0-9]+ tests failed' "$1" | tail -1 | grep -oE '^[0-9]+' || echo 0)
  [ "$total" -gt 0 ] || { echo "ctest: no test ran ($1)"; status=1; failures=1; }
  passed=$((passed + total - failures)); failed=$((failed + failures))
}

echo "== C (ctest) =="
(cd "$build" && ctest --output-on-failure 2>&1) | tee "$log/c.txt"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
count_ctest "$log/c.txt"

# The C suite again under ThreadSanitizer, in its own build (build/tsan);
# the sanitizer run builds with ASan instead.
if [ "$mode" != asan ]; then
  echo "== C under ThreadSanitizer (tests/tsan/run.sh) =="
  bash tests/tsan/run.sh 2>&1 | tee "$log/tsan.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  count_ctest "$log/tsan.txt"
fi

echo "== Python (pytest) =="
env "${env_for_bindings[@]}" PYTHONPATH="bindings/python:$build/python" "$py" -m pytest -q -p no:cacheprovider tests/python 2>&1 | tee "$log/py.txt"
rc=${PIPESTATUS[0]}
# Exit code 5 means pytest collected nothing: a suite that tests nothing fails.
[ "$rc" = 0 ] || status=1
count_pytest "$log/py.txt" python

# The Redis-backed Python tests again on a 3-master Redis Cluster (the
# redis_server fixture hands one out): limits, blobs, recipe updates and
# events on a cluster in every run. make test-cluster runs the Node and
# end-to-end ones that way too (about 3 more minutes).
if [ "$mode" != asan ]; then
  PYTHON="$py" bash tests/run_cluster.sh "$build" python 2>&1 | tee "$log/cluster.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  c_pass=$(grep -oE '^cluster totals: [0-9]+ passed' "$log/cluster.txt" | grep -oE '[0-9]+' || echo 0)
  c_fail=$(grep -oE '^cluster totals: [0-9]+ passed, [0-9]+ failed' "$log/cluster.txt" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 1)
  passed=$((passed + c_pass)); failed=$((failed + c_fail))
fi

# The same suite under the oldest and the newest supported Python, each
# against its own build of the module (make test-pythons runs all five).
if [ "$mode" != asan ]; then
  echo "== Python 3.9 and 3.13 (tests/python/run_versions.sh) =="
  PYTHONS="${HOTPATH_TEST_PYTHONS:-3.9 3.13}" bash tests/python/run_versions.sh 2>&1 | tee "$log/pythons.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  v_pass=$(grep -oE '^ok - Python [0-9.]+ \(.*\): [0-9]+ passed' "$log/pythons.txt" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' | awk '{s+=$1} END {print s+0}')
  v_fail=$(grep -cE '^not ok - Python' "$log/pythons.txt" || true)
  passed=$((passed + v_pass)); failed=$((failed + v_fail))
fi

# maxminddb's own test suite against hotpath.maxminddb (downloads the pinned
# sdist; without network it fails).
echo "== Python (upstream maxminddb suite) =="
env "${env_for_bindings[@]}" "$py" tests/python/upstream/run_maxminddb.py --build "$build" 2>&1 | tee "$log/upstream.txt"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
u_pass=$(grep -oE '^upstream maxminddb [0-9.]+: [0-9]+ passed' "$log/upstream.txt" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
u_fail=$(grep -oE '^upstream maxminddb [0-9.]+: [0-9]+ passed, [0-9]+ failed' "$log/upstream.txt" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 1)
passed=$((passed + u_pass)); failed=$((failed + u_fail))

# The maxmind drop-in's suite under jest too: each test file in its own realm.
echo "== Node (maxmind drop-in under jest) =="
env "${env_for_bindings[@]}" npx --no-install jest --config tests/node/jest.config.js 2>&1 | tee "$log/jest.txt"
[ "${PIPESTATUS[0]}" = 0 ] || status=1
j_pass=$(grep -oE '^Tests: .*[0-9]+ passed' "$log/jest.txt" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
j_fail=$(grep -oE '^Tests: .*[0-9]+ failed' "$log/jest.txt" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)
[ "$j_pass" -gt 0 ] || { echo "jest: no test ran"; status=1; }
passed=$((passed + j_pass)); failed=$((failed + j_fail))

for suite in node e2e; do
  [ -d "tests/$suite" ] || continue
  echo "== Node ($suite, node --test) =="
  env "${env_for_bindings[@]}" node --test --test-concurrency=1 "tests/$suite/" 2>&1 | tee "$log/$suite.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  count_node "$log/$suite.txt" "node $suite"
done

# The packages of `make dist`, installed outside the checkout (not in the
# sanitizer run: they are release builds).
if [ "$mode" != asan ]; then
  echo "== dist (wheel, sdist, npm tarball) =="
  PYTHON="$py" bash tests/dist/run.sh 2>&1 | tee "$log/dist.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  d_pass=$(grep -oE '^dist: [0-9]+ passed' "$log/dist.txt" | grep -oE '[0-9]+' || echo 0)
  d_fail=$(grep -oE '^dist: [0-9]+ passed, [0-9]+ failed' "$log/dist.txt" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 1)
  passed=$((passed + d_pass)); failed=$((failed + d_fail))
fi

echo
echo "totals: $passed passed, $failed failed"
exit $status
