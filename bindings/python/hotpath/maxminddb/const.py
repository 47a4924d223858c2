"""Open modes of :func:`hotpath.maxminddb.open_database`, with maxminddb's values."""

from __future__ import annotations

from enum import IntEnum


class Mode(IntEnum):
    """How a database is opened. hotpath maps files for every path mode;
    MEMORY and FD read the bytes into memory first."""

    AUTO = 0
    MMAP_EXT = 1
    MMAP = 2
    FILE = 4
    MEMORY = 8
    FD = 16


MODE_AUTO = Mode.AUTO
MODE_MMAP_EXT = Mode.MMAP_EXT
MODE_MMAP = Mode.MMAP
MODE_FILE = Mode.FILE
MODE_MEMORY = Mode.MEMORY
MODE_FD = Mode.FD

__all__ = ["MODE_AUTO", "MODE_FD", "MODE_FILE", "MODE_MEMORY", "MODE_MMAP", "MODE_MMAP_EXT", "Mode"]
