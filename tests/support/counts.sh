# Sourced by tests/run_all.sh and tests/run_cluster.sh: adds the totals of a
# suite's log to their `passed` and `failed`, and sets `status=1` for a
# suite that ran nothing.

# count_pytest LOG LABEL: a pytest -q run.
count_pytest() {
  local p f
  p=$(grep -oE '[0-9]+ passed' "$1" | tail -1 | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '[0-9]+ (failed|error)' "$1" | awk '{s+=$1} END {print s+0}')
  [ "$p" -gt 0 ] || { echo "$2: no test ran"; status=1; }
  passed=$((passed + p)); failed=$((failed + f))
}

# count_node LOG LABEL: a node --test run (TAP). A test that timed out is
# reported as cancelled, not failed: it counts as failed.
count_node() {
  local p f c
  p=$(grep -oE '^# pass [0-9]+' "$1" | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '^# fail [0-9]+' "$1" | grep -oE '[0-9]+' || echo 0)
  c=$(grep -oE '^# cancelled [0-9]+' "$1" | grep -oE '[0-9]+' || echo 0)
  [ "$p" -gt 0 ] || { echo "$2: no test ran"; status=1; }
  passed=$((passed + p)); failed=$((failed + f + c))
}
