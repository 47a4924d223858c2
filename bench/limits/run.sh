#!/usr/bin/env bash
# bench/limits: in-process memory checks from C (acquire+release, GCRA),
# Node and Python per-call cost, SQLite checks/s from 4 processes on one file,
# SQLite async inline vs thread pool, and Redis checks/s against
# rate-limiter-flexible on the same redis-server in the same run (sequential
# and 64 in flight), and hotpath on a 3-master Redis Cluster beside one
# redis-server (bench/limits/cluster.js). Writes bench/results/limits.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD:-build/dev}
py=${PYTHON:-python3}
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" >/dev/null &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
cc -O2 -std=c99 -pthread -Ilibengine/include bench/limits/c_bench.c -o "$tmp/c_bench" \
  -L"$build/libengine" -Wl,-rpath,"$PWD/$build/libengine" -lhotpath
"$tmp/c_bench" memory >"$tmp/c.json"
"$tmp/c_bench" sqlite "$tmp/procs.db" 4 3 >"$tmp/sqlite4.json"
"$tmp/c_bench" sqlite "$tmp/one.db" 1 3 >"$tmp/sqlite1.json"
node bench/limits/node.js "redis://127.0.0.1:$port/0" "$tmp/node.db" >"$tmp/node.json"
PYTHONPATH="bindings/python:$build/python" "$py" bench/limits/python_bench.py >"$tmp/py.json"
node bench/limits/cluster.js "$tmp/cluster.json"
node bench/limits/budget.js "redis://127.0.0.1:$port/0" "$tmp/budget.json"
"$py" - "$tmp" <<'PY'
import json, os, platform, sys
tmp = sys.argv[1]
c, s4, s1, n, p = (json.load(open(os.path.join(tmp, f)))
                   for f in ("c.json", "sqlite4.json", "sqlite1.json", "node.json", "py.json"))
print(f"{'check':<44}{'ops/s':>12}   {'baseline':<36}{'ops/s':>12}{'ratio':>8}")
results = []
def row(name, ours, base="", theirs=None, target=None):
    ratio = ours / theirs if theirs else None
    met = None if target is None else (ratio if theirs else ours) >= target
    print(f"{name:<44}{ours:>12,.0f}   {base:<36}{(f'{theirs:,.0f}' if theirs else ''):>12}"
          f"{(f'{ratio:.2f}x' if ratio else ''):>8}  {'' if target is None else ('ok' if met else 'MISSED')}")
    results.append({"name": name, "ops_per_sec": ours, "baseline": base or None, "baseline_ops_per_sec": theirs,
                    "ratio": ratio, "target": target, "met": met})
row("C memory acquire+release (calls/s, 1 thread)", c["acquire_release_calls_per_sec"], target=5e6)
row("C memory acquire of a held lease", c["acquire_held_per_sec"])
row("C memory GCRA hit (1 thread)", c["gcra_hits_per_sec"], target=20e6)
row("C memory GCRA hit (2 threads, total)", c["gcra_2_threads_total_per_sec"])
row("C SQLite acquire, 4 processes, one file", s4["checks_per_sec"])
row("C SQLite acquire, 1 process", s1["checks_per_sec"])
row("Node memory hitSync", n["memory_hitSync"]["opsPerSec"])
row("Node memory acquireSync+releaseSync (pairs)", n["memory_acquireSync_releaseSync"]["opsPerSec"])
row("Node memory hit (Promise)", n["memory_hit_promise"]["opsPerSec"])
row("Python memory hit", p["memory_hit"]["opsPerSec"])
row("Python memory acquire+release (pairs)", p["memory_acquire_release"]["opsPerSec"])
row("Node SQLite acquire, thread pool, 64 in flight", n["sqlite_acquire_pool_c64"]["opsPerSec"],
    "same, inline on the loop", n["sqlite_acquire_inline_c64"]["opsPerSec"])
row("Node SQLite acquire, thread pool, sequential", n["sqlite_acquire_pool_seq"]["opsPerSec"],
    "same, inline on the loop", n["sqlite_acquire_inline_seq"]["opsPerSec"])
row("Node Redis hit, sequential", n["redis_hotpath_hit_seq"]["opsPerSec"],
    "rate-limiter-flexible consume", n["redis_rlf_consume_seq"]["opsPerSec"], 1.0)
row("Node Redis hit, 64 in flight (pipelined)", n["redis_hotpath_hit_c64"]["opsPerSec"],
    "rate-limiter-flexible consume", n["redis_rlf_consume_c64"]["opsPerSec"], 1.0)
row("Node Redis acquire, 64 in flight", n["redis_hotpath_acquire_c64"]["opsPerSec"])
cl = json.load(open(os.path.join(tmp, "cluster.json")))
for r in cl["rows"]:
    row(r["name"].replace("Node ", "Node Redis Cluster "), r["cluster_ops_per_sec"],
        "same, one redis-server", r["single_ops_per_sec"])
b = json.load(open(os.path.join(tmp, "budget.json")))
row("Node Redis hit, local budget, hot key, seq", b["hot_local_hit_seq"]["opsPerSec"],
    "rate-limiter-flexible, hot key, 64 fl.", b["hot_rlf_consume_c64"]["opsPerSec"])
row("Node Redis hit, local budget, 64 in flight", b["hot_local_hit_c64"]["opsPerSec"],
    "hotpath Redis hit, hot key, 64 fl.", b["hot_redis_hit_c64"]["opsPerSec"])
row("Node Redis hitLocal (sync), local budget", b["hot_local_hitLocal"]["opsPerSec"])
floor = b["hot_local_hit_seq"]["opsPerSec"] >= 1e6
print(f"local budget floor, >= 1 M checks/s per Node process through hit(): {'ok' if floor else 'MISSED'}")
print(f"local budget: {b['hot_local_checks']:,} checks took {b['hot_local_redis_commands']:,} Redis commands")
for f, e in zip(b["flat_out"], b["early_denials"]):
    print(f"local budget {e['block']:>5}, {e['processes']} processes, limit {e['limitPerWindow']:,}/{e['periodMs']} ms: "
          f"flat out {f['hitsPerSecond']:,.0f} hits/s, grants per full window {min(f['grantsPerFullWindow'], default=0):,}"
          f"..{max(f['grantsPerFullWindow'], default=0):,}, over-grants {f['overGrants'] + e['overGrants']}; "
          f"at 95% of the limit, early denials per window mean {e['denialsPerFullWindowMean']:,.0f}, "
          f"max {e['denialsPerFullWindowMax']:,}")
hc, rc = n["redis_cpu_hotpath_hit"], n["redis_cpu_rlf_consume"]
print(f"CPU per Redis check (64 in flight): hotpath {hc['clientUsPerCheck']:.1f} us in Node + "
      f"{hc['serverUsPerCheck']} us in redis-server; rate-limiter-flexible {rc['clientUsPerCheck']:.1f} us + "
      f"{rc['serverUsPerCheck']} us")
out = {"benchmark": "limits", "machine": platform.machine(), "cpus": os.cpu_count(), "results": results,
       "raw": {"c": c, "sqlite_4_processes": s4, "sqlite_1_process": s1, "node": n, "python": p,
               "redis_cluster": cl, "local_budget": b}}
os.makedirs("bench/results", exist_ok=True)
json.dump(out, open("bench/results/limits.json", "w"), indent=2)
print("wrote bench/results/limits.json")
PY
