#!/usr/bin/env bash
# bench/ua: hotpath ua.parse vs ua-parser-js (1.x and 2.x) and
# device-detector-js on the same 100,000 User-Agent strings drawn by weight
# from the user-agents corpus (fixed seed), plus the C parser cold and
# cached. Writes bench/results/ua.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD:-build/dev}
py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node bench/ua/node.js >"$tmp/node.json"
node -e "
const fs=require('fs');const path=require('path');
const f=path.join(path.dirname(require.resolve('user-agents')),'user-agents.json');
const s=[...new Set(JSON.parse(fs.readFileSync(f,'utf8')).map(e=>e.userAgent))];
fs.writeFileSync(process.argv[1], s.join('\n')+'\n');" "$tmp/uas.txt"
cc -O2 -std=c99 -Ilibengine/include bench/ua/c_bench.c -o "$tmp/c_bench" \
  -L"$build/libengine" -Wl,-rpath,"$PWD/$build/libengine" -lhotpath
"$tmp/c_bench" "$tmp/uas.txt" >"$tmp/c.json"
"$py" - "$tmp" <<'PY'
import json, os, platform, sys
tmp = sys.argv[1]
n = json.load(open(os.path.join(tmp, "node.json")))
c = json.load(open(os.path.join(tmp, "c.json")))
r = n["results"]
ours = r["hotpath"]["second"]["opsPerSec"]
print(f"{n['strings']} strings, {n['distinct']} distinct, drawn by weight from the user-agents corpus (seed {n['seed']})")
print(f"{'parser':<22}{'ops/s':>12}{'ns/op':>10}{'hotpath is':>14}")
rows = []
for name in ("hotpath", "ua-parser-js", "ua-parser-js@2", "device-detector-js"):
    s = r[name]["second"]
    ratio = ours / s["opsPerSec"]
    rows.append({"parser": name, "opsPerSec": s["opsPerSec"], "nsPerOp": s["nsPerOp"], "hotpathRatio": ratio})
    print(f"{name:<22}{s['opsPerSec']:>12,.0f}{s['nsPerOp']:>10.0f}{ratio:>13.1f}x")
cold = r["hotpath"]["cold"]["opsPerSec"] / r["ua-parser-js"]["cold"]["opsPerSec"]
print(f"cold (every string unique, 20,000): hotpath {r['hotpath']['cold']['opsPerSec']:,.0f}/s, "
      f"ua-parser-js {r['ua-parser-js']['cold']['opsPerSec']:,.0f}/s: {cold:.1f}x")
print(f"C hp_ua_parse over the {c['strings']} distinct strings: uncached {c['hotpath_c_uncached']['opsPerSec']/1e6:.2f} M/s, "
      f"cached {c['hotpath_c_cached']['opsPerSec']/1e6:.2f} M/s")
target = 10.0
ratio = rows[0]["opsPerSec"] / rows[1]["opsPerSec"]
print(f"target: >= {target:.0f}x ua-parser-js -> {'met' if ratio >= target else 'NOT met'} ({ratio:.1f}x)")
out = {"bench": "ua", "machine": platform.platform(), "node": n["node"], "strings": n["strings"],
       "distinct": n["distinct"], "seed": n["seed"], "rows": rows, "coldRatioVsUaParserJs": cold,
       "node_raw": r, "c": c, "target": {"vs": "ua-parser-js", "ratio": target, "met": ratio >= target}}
os.makedirs("bench/results", exist_ok=True)
json.dump(out, open("bench/results/ua.json", "w"), indent=2)
print("wrote bench/results/ua.json")
PY
