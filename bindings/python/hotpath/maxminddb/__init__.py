"""Drop-in for the ``maxminddb`` package: ``import hotpath.maxminddb as maxminddb``.

``open_database(database, mode)`` returns a :class:`Reader` with ``get``,
``get_with_prefix_len``, ``metadata()``, iteration over ``(network, record)``,
``close`` and the context manager, returning the same types as ``maxminddb``
(dict, list, str, int, float, bool, bytes). The submodules users import
(``const``, ``errors``, ``reader``, ``extension``, ``types``) exist with the
same names. Invalid IP strings raise ``ValueError``; a closed reader raises
``ValueError``; a damaged database raises :data:`InvalidDatabaseError` (a
``RuntimeError``); a missing file raises ``FileNotFoundError``.
"""

from __future__ import annotations

from . import const, errors, extension, reader, types
from .const import MODE_AUTO, MODE_FD, MODE_FILE, MODE_MEMORY, MODE_MMAP, MODE_MMAP_EXT
from .errors import InvalidDatabaseError
from .reader import Database, Metadata, Reader

# maxminddb's name for its C reader module; MODE_MMAP_EXT needs it.
_extension: object | None = extension


def open_database(database: Database, mode: int = MODE_AUTO) -> Reader:
    """Open a MaxMind DB database (see :class:`Reader` for what ``database`` may be)."""
    if mode == MODE_MMAP_EXT and not hasattr(_extension, "Reader"):
        raise ValueError("MODE_MMAP_EXT requires the maxminddb.extension module to be available")
    return Reader(database, mode)


__all__ = [
    "MODE_AUTO",
    "MODE_FD",
    "MODE_FILE",
    "MODE_MEMORY",
    "MODE_MMAP",
    "MODE_MMAP_EXT",
    "InvalidDatabaseError",
    "Metadata",
    "Reader",
    "const",
    "errors",
    "extension",
    "open_database",
    "reader",
    "types",
]
