"""The process-wide engine: an owned libuv loop on one background thread."""

from __future__ import annotations

import atexit
import threading

from . import _hotpath

_lock = threading.Lock()
_engine: _hotpath.Engine | None = None


def engine() -> _hotpath.Engine:
    """The shared engine, started on first use and closed at exit."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = _hotpath.Engine()
    return _engine


@atexit.register
def _close() -> None:
    global _engine
    if _engine is not None:
        _engine.close()
        _engine = None
