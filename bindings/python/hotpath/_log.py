"""The engine's background events on the ``hotpath`` logger.

Reloads of watched files, Redis connections lost and back, and background
failures (a subscription message refused, a batch of events that could not
be written) are logged on a child of ``logging.getLogger("hotpath")`` named
after their subsystem: ``hotpath.geo``, ``hotpath.recipes``, ``hotpath.redis``
(connections of any handle), ``hotpath.events``, ``hotpath.limiter``,
``hotpath.blobs``. Reloads and reconnects are INFO, lost connections and
refused messages WARNING, failed reloads and writes ERROR. Each record
carries ``hotpath_event``, ``hotpath_handle``, ``hotpath_code`` and
``hotpath_source`` attributes for structured handlers.
"""

from __future__ import annotations

import atexit
import logging

from . import _hotpath

logger = logging.getLogger("hotpath")

_LEVELS = {
    "reload": logging.INFO,
    "reload_failed": logging.ERROR,
    "redis_disconnect": logging.WARNING,
    "redis_reconnect": logging.INFO,
    "error": logging.WARNING,
}


def _logger_for(kind: str, handle: str) -> logging.Logger:
    return logger.getChild("redis" if kind.startswith("redis_") else handle)


def emit(kind: str, handle: str, status: int, code: str | None, message: str, source: str) -> None:
    """Called by the engine's thread (with the GIL) for each event."""
    level = _LEVELS.get(kind, logging.WARNING)
    if handle == "events" and kind == "error":
        level = logging.ERROR  # events are being held back, and may be lost
    log = _logger_for(kind, handle)
    if not log.isEnabledFor(level):
        return
    extra = {"hotpath_event": kind, "hotpath_handle": handle, "hotpath_code": code, "hotpath_source": source}
    if source:
        log.log(level, "%s (%s)", message, source, extra=extra)
    else:
        log.log(level, "%s", message, extra=extra)


# After this, events (say from an engine still closing) are not logged: the
# interpreter may be finalizing.
atexit.register(_hotpath.stop_event_logging)
