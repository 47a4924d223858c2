from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest
from hotpath import host


def test_snapshot_fields() -> None:
    s = host.snapshot()
    assert s["os_type"] == os.uname().sysname
    assert s["num_cores"] == os.cpu_count()
    assert s["used_mem"] == s["total_mem"] - s["free_mem"]
    assert 0 <= s["mem_usage"] <= 1
    assert s["cpu_load"] is None
    assert len(s["mac"]) in (0, 17)


def test_sample_blocks_without_the_gil() -> None:
    ticks = 0
    stop = False

    def spin() -> None:
        nonlocal ticks
        while not stop:
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    started = time.monotonic()
    s = host.sample(100)
    stop = True
    t.join()
    assert time.monotonic() - started >= 0.095
    assert ticks > 10  # another Python thread ran while we waited
    assert s["cpu_load"] is not None and 0 <= s["cpu_load"] <= 100


def test_sample_async_runs_concurrently() -> None:
    async def main() -> list[host.HostInfo]:
        return await asyncio.gather(*(host.sample_async(100) for _ in range(5)))

    started = time.monotonic()
    results = asyncio.run(main())
    assert time.monotonic() - started < 0.4  # five windows overlap
    assert all(r["cpu_load"] is not None for r in results)


def test_sample_bad_window() -> None:
    with pytest.raises(ValueError):
        host.sample(0)
    with pytest.raises(ValueError):
        host.sample(True)
