#!/usr/bin/env bash
# Every Redis-backed test of the Python, Node and end-to-end suites again
# with HOTPATH_TEST_REDIS=cluster: their Redis fixtures (tests/python/
# conftest.py, tests/support/redis.js) hand out a 3-master Redis Cluster in
# place of one redis-server. (The C suite runs its Redis Cluster cases in
# every run: tests/c/support/redis_cluster.h.) Prints one closing line with
# the totals. Usage: tests/run_cluster.sh BUILD_DIR [SUITES] (SUITES: some
# of "python node e2e", all by default; make test runs "python").
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/dev}
suites=" ${2:-python node e2e} "
py=${PYTHON:-python3}
log=$(mktemp -d)
export HOTPATH_TEST_REDIS=cluster
passed=0
failed=0
status=0
source tests/support/counts.sh

# The Node and end-to-end files that start Redis; perfload's Redis is
# socket.io's adapter, not hotpath's, and stays one server.
node_files=$(grep -l "startRedis" tests/node/*.test.js)
e2e_files=$(grep -l "startRedis" tests/e2e/*.test.js | grep -v perfload)

if [[ $suites == *" python "* ]]; then
  echo "== Python on a Redis Cluster (tests that use Redis) =="
  PYTHONPATH="bindings/python:$build/python" "$py" -m pytest -q -p no:cacheprovider tests/python 2>&1 | tee "$log/py.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  count_pytest "$log/py.txt" "python on a cluster"
fi

for suite in node e2e; do
  [[ $suites == *" $suite "* ]] || continue
  files=node_files
  [ "$suite" = e2e ] && files=e2e_files
  echo "== Node ($suite) on a Redis Cluster: $(echo ${!files} | xargs -n1 basename | tr '\n' ' ')=="
  # shellcheck disable=SC2086
  node --test --test-concurrency=1 ${!files} 2>&1 | tee "$log/$suite.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  count_node "$log/$suite.txt" "node $suite on a cluster"
done

echo
echo "cluster totals: $passed passed, $failed failed"
exit $status
