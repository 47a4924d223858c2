"""bench/limits Python part: per-call cost of memory checks. Prints JSON."""

from __future__ import annotations

import json
import time

from hotpath.limits import open_limiter


def timed(n: int, fn) -> dict[str, float]:  # type: ignore[no-untyped-def]
    for i in range(min(n, 10000)):
        fn(i)
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    s = time.perf_counter() - t0
    return {"opsPerSec": n / s, "nsPerCall": s * 1e9 / n}


lim = open_limiter("memory:")
keys = [f"ip:10.0.{i >> 8}.{i & 255}" for i in range(1024)]
out = {
    "memory_hit": timed(500000, lambda i: lim.hit(keys[i & 1023], rate=1000000)),
    "memory_acquire_release": timed(
        300000,
        lambda i: (lim.acquire(keys[i & 1023], "s1", limit=3), lim.release(keys[i & 1023], "s1")),
    ),
}
print(json.dumps(out))
