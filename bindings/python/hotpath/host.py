"""Host metrics: the Perfload client's payload."""

from __future__ import annotations

from typing import TypedDict

from . import _aio, _hotpath
from ._engine import engine


class HostInfo(TypedDict):
    """Host metrics, the Perfload client's payload; cpu_load is None except from sample()."""
    free_mem: int
    total_mem: int
    used_mem: int
    mem_usage: float
    os_type: str
    up_time: float
    cpu_model: str
    num_cores: int
    cpu_speed: int
    mac: str
    cpu_load: float | None


def _window(window_ms: int) -> int:
    if isinstance(window_ms, bool) or not isinstance(window_ms, int) or not 1 <= window_ms <= 60000:
        raise ValueError("window_ms must be an integer in 1..60000")
    return window_ms


def snapshot() -> HostInfo:
    """The host's metrics now; ``cpu_load`` is None (it needs a window)."""
    return _hotpath.host_snapshot()  # type: ignore[return-value]


def sample(window_ms: int = 100) -> HostInfo:
    """The host's metrics with ``cpu_load`` (percent busy) measured over
    ``window_ms`` on the engine's loop. Blocks without holding the GIL."""
    return _hotpath.host_sample(engine(), _window(window_ms))  # type: ignore[return-value]


async def sample_async(window_ms: int = 100) -> HostInfo:
    """:func:`sample` for asyncio."""
    window = _window(window_ms)
    return await _aio.run(lambda cb: _hotpath.host_sample_cb(engine(), window, cb))  # type: ignore[no-any-return]
