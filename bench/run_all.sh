#!/usr/bin/env bash
# Every benchmark, one command a line. Results go to bench/results/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/geo/run.sh
bash bench/ua/run.sh
