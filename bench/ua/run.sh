#!/usr/bin/env bash
# bench/ua: hotpath ua.parse (and hotpath/ua-parser-js) vs ua-parser-js
# (1.x and 2.x) and device-detector-js on the same 100,000 User-Agent
# strings drawn by weight from the user-agents corpus (fixed seed); the C
# parser uncached and cached over each committed corpus (distinct strings:
# the detectors' common shapes and the tables' long tail); hostile strings
# of 256 B to 4 KiB; and the agreement with ua-parser-js and isbot beside
# the speed. Writes bench/results/ua.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD:-build/dev}
py=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node bench/ua/node.js >"$tmp/node.json"
cc -O2 -std=c99 -Ilibengine/include bench/ua/c_bench.c -o "$tmp/c_bench" \
  -L"$build/libengine" -Wl,-rpath,"$PWD/$build/libengine" -lhotpath
cc -O2 -std=c99 -Ilibengine/include bench/ua/c_adversarial.c -o "$tmp/c_adversarial" \
  -L"$build/libengine" -Wl,-rpath,"$PWD/$build/libengine" -lhotpath
# the profile reaches the prefilter and detectors, so it links the static library
c++ -O2 -std=c++20 -Ilibengine/include -Ilibengine/src bench/ua/c_profile.cc -o "$tmp/c_profile" \
  "$build/libengine/libhotpath.a" -lre2
echo "{" >"$tmp/c.json"
first=1
for corpus in user-agents fake-ua crawlers; do
  [ $first = 1 ] || echo "," >>"$tmp/c.json"
  first=0
  printf '"%s": ' "$corpus" >>"$tmp/c.json"
  "$tmp/c_bench" "tests/fixtures/ua-corpus-$corpus.txt" >>"$tmp/c.json"
done
cat tests/fixtures/ua-corpus-*.txt tests/fixtures/ua-extra.txt | grep -v '^#' | sort -u >"$tmp/all.txt"
printf ', "all corpora": ' >>"$tmp/c.json"
"$tmp/c_bench" "$tmp/all.txt" >>"$tmp/c.json"
echo "}" >>"$tmp/c.json"
"$tmp/c_adversarial" >"$tmp/adversarial.json"
"$tmp/c_profile" "$tmp/all.txt" >"$tmp/profile.json"
"$py" - "$tmp" <<'PY'
import json, os, platform, sys
tmp = sys.argv[1]
n = json.load(open(os.path.join(tmp, "node.json")))
c = json.load(open(os.path.join(tmp, "c.json")))
adv = json.load(open(os.path.join(tmp, "adversarial.json")))
prof = json.load(open(os.path.join(tmp, "profile.json")))
r = n["results"]
ours = r["hotpath"]["second"]["opsPerSec"]
print(f"{n['strings']} strings, {n['distinct']} distinct, drawn by weight from the user-agents corpus (seed {n['seed']})")
print(f"{'parser':<22}{'ops/s':>12}{'ns/op':>10}{'hotpath is':>14}")
rows = []
for name in ("hotpath", "hotpath/ua-parser-js", "ua-parser-js", "ua-parser-js@2", "device-detector-js"):
    s = r[name]["second"]
    ratio = ours / s["opsPerSec"]
    rows.append({"parser": name, "opsPerSec": s["opsPerSec"], "nsPerOp": s["nsPerOp"], "hotpathRatio": ratio})
    print(f"{name:<22}{s['opsPerSec']:>12,.0f}{s['nsPerOp']:>10.0f}{ratio:>13.1f}x")
cold = r["hotpath"]["cold"]["opsPerSec"] / r["ua-parser-js"]["cold"]["opsPerSec"]
print(f"cold (every string unique, 20,000): hotpath {r['hotpath']['cold']['opsPerSec']:,.0f}/s, "
      f"ua-parser-js {r['ua-parser-js']['cold']['opsPerSec']:,.0f}/s: {cold:.1f}x")
for name, v in c.items():
    u, k = v["hotpath_c_uncached"], v["hotpath_c_cached"]
    print(f"C hp_ua_parse, {name} ({v['strings']} distinct strings): uncached "
          f"{u['opsPerSec']/1e6:.3f} M/s (CPU time {u['cpuOpsPerSec']/1e6:.3f} M/s), "
          f"cached {k['opsPerSec']/1e6:.2f} M/s (CPU time {k['cpuOpsPerSec']/1e6:.2f} M/s)")
first = c["all corpora"]
print(f"C first parse (compiles the tables): {first['firstParseMs']:.0f} ms; peak RSS {first['maxRssKiB']/1024:.1f} MiB")
print("C hp_ua_parse on hostile strings, CPU ns per parse at 256 / 512 / 1024 / 2048 / 4096 bytes:")
for f in adv["families"]:
    t = f["nsPerParse"]
    print(f"  {f['name']:<22}" + " ".join(f"{t[k]:>8,.0f}" for k in ("256", "512", "1024", "2048", "4096"))
          + f"   4 KiB / 512 B: {t['4096'] / t['512']:.1f}x")
print(f"C profile, all corpora, CPU ns a string: parse {prof['parseNsPerString']:,.0f} = tokenizer and detectors "
      f"{prof['tokenizerAndDetectorsNsPerString']:,.0f} + prefilter {prof['prefilterNsPerString']:,.0f} + RE2 searches "
      f"{prof['searchesInParseOrderNsPerString']:,.0f} (each pattern's together, DFA warm: "
      f"{prof['prefilterAndSearchesNsPerString'] - prof['prefilterNsPerString']:,.0f}) + rest {prof['restNsPerString']:,.0f}")
for p in prof["parts"]:
    print(f"  {p['part']:<8} candidates {p['candidatesPerString']:.2f}, searched {p['searchedPerString']:.2f}, "
          f"matched {p['matchedPerString']:.2f} a string: {p['nsPerString']:,.0f} ns "
          f"({p['nsPerStringWithoutCaptures']:,.0f} without captures)")
for p in prof["costliest"][:5]:
    print(f"  {p['nsPerString']:>5,.0f} ns a string, {p['searches']} searches, {p['matches']} matches: {p['pattern']}")
g = prof["programs"]
print(f"C long-tail rules, every part, CPU ns a string: programs {g['tablesNsPerString']:,.0f} "
      f"(RE2 for every rule: {g['tablesRe2OnlyNsPerString']:,.0f}); {g['programmed']} of {g['rules']} rules have a "
      f"program; {g['stringsReachingRe2ForARule']} of {prof['strings']} strings still take RE2 for a rule; "
      f"tables {g['tablesMemoryBytes']/1024:,.0f} KiB")
targets = [("ua-parser-js", 15.0), ("ua-parser-js@2", 100.0)]
met = {}
for vs, target in targets:
    ratio = ours / r[vs]["second"]["opsPerSec"]
    met[vs] = {"ratio": ratio, "target": target, "met": ratio >= target}
    print(f"target: >= {target:.0f}x {vs} -> {'met' if ratio >= target else 'NOT met'} ({ratio:.1f}x)")
# Judged on CPU time: on a shared machine the wall time also counts the time
# other processes held the core.
wall = c["all corpora"]["hotpath_c_uncached"]["opsPerSec"]
longtail = c["all corpora"]["hotpath_c_uncached"]["cpuOpsPerSec"]
met["c_long_tail"] = {"opsPerSec": wall, "cpuOpsPerSec": longtail, "target": 1e6, "met": longtail >= 1e6}
print(f"target: C >= 1 M/s on the distinct corpus strings -> {'met' if longtail >= 1e6 else 'NOT met'} "
      f"({longtail/1e6:.3f} M/s of CPU time, {wall/1e6:.3f} M/s wall)")
out = {"bench": "ua", "machine": platform.platform(), "node": n["node"], "strings": n["strings"],
       "distinct": n["distinct"], "seed": n["seed"], "rows": rows, "coldRatioVsUaParserJs": cold,
       "node_raw": r, "c": c, "adversarial": adv, "profile": prof, "agreement": n["agreement"], "targets": met}
os.makedirs("bench/results", exist_ok=True)
json.dump(out, open("bench/results/ua.json", "w"), indent=2)
print("wrote bench/results/ua.json")
PY
