"""The process-wide engine: an owned libuv loop on one background thread."""

from __future__ import annotations

import atexit
import ctypes
import os
import threading

from . import _hotpath

_lock = threading.Lock()
_engine: _hotpath.Engine | None = None
# Engines inherited through fork(): their loop thread stayed in the parent.
_inherited: list[_hotpath.Engine] = []


def engine() -> _hotpath.Engine:
    """The shared engine, started on first use and closed at exit."""
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = _hotpath.Engine()
    return _engine


def _after_fork_in_child() -> None:
    """A forked child (gunicorn --preload, multiprocessing "fork") has the
    parent's engine without its loop thread. The next engine() starts a new
    one; the inherited one is never closed (that would wait on a thread that
    does not exist here), so its reference is pinned for good. Handles
    opened before the fork belong to the parent: open new ones in the child."""
    global _engine, _lock
    _lock = threading.Lock()
    if _engine is not None:
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(_engine))
        _inherited.append(_engine)
        _engine = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close() -> None:
    global _engine
    if _engine is not None:
        _engine.close()
        _engine = None
