#!/usr/bin/env bash
# Every benchmark, one command per line; each prints a table and writes
# bench/results/<name>.json. Run from anywhere: make bench.
set -euo pipefail
cd "$(dirname "$0")/.."

node bench/sticky/bench.js
bash bench/geo/run.sh
node bench/recipes/bench.js
bash bench/limits/run.sh
bash bench/ua/run.sh
node bench/tracker/bench.js
node bench/traffic/bench.js
node bench/blobs/bench.js
node bench/blobs/speedbox.js
