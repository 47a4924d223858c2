#!/bin/sh
# The shared library must export only hp_* symbols (and no C++ or
# dependency symbols): a stray export would clash in a host process.
set -eu
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | grep -v '^hp_' | grep -vE '^(_init|_fini|_edata|_end|__bss_start)$' || true)
if [ -n "$bad" ]; then
  echo "symbols: $lib exports non-hp_ symbols:" >&2
  echo "$bad" | head -20 >&2
  exit 1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' T hp_')
echo "symbols: $count hp_* functions exported, nothing else"
