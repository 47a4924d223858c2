"""Drop-in for the ``maxminddb`` package: ``import hotpath.maxminddb as maxminddb``.

``open_database(path)`` returns a :class:`Reader` with ``get``,
``get_with_prefix_len``, ``metadata()``, ``close`` and the context manager,
returning the same types as ``maxminddb`` (dict, list, str, int, float,
bool, bytes). Invalid IP strings raise ``ValueError`` (hotpath's
InvalidArgumentError); a closed reader raises ``ValueError`` (ClosedError);
a damaged database raises :data:`InvalidDatabaseError`.
"""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any

import _hotpath

from .errors import CorruptError

MODE_AUTO = 0
MODE_MMAP_EXT = 1
MODE_MMAP = 2
MODE_FILE = 4
MODE_MEMORY = 8
MODE_FD = 16

#: Raised for a damaged database (the same class as hotpath.errors.CorruptError).
InvalidDatabaseError = CorruptError


class Metadata:
    """The database's metadata, with maxminddb's attribute names."""

    def __init__(self, **kwargs: Any) -> None:
        self.binary_format_major_version: int = kwargs["binary_format_major_version"]
        self.binary_format_minor_version: int = kwargs["binary_format_minor_version"]
        self.build_epoch: int = kwargs["build_epoch"]
        self.database_type: str = kwargs["database_type"]
        self.description: dict[str, str] = kwargs["description"]
        self.ip_version: int = kwargs["ip_version"]
        self.languages: list[str] = kwargs["languages"]
        self.node_count: int = kwargs["node_count"]
        self.record_size: int = kwargs["record_size"]

    @property
    def node_byte_size(self) -> int:
        """Bytes per search-tree node."""
        return self.record_size // 4

    @property
    def search_tree_size(self) -> int:
        """Bytes of the search tree."""
        return self.node_count * self.node_byte_size

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{self.__module__}.{self.__class__.__qualname__}({args})"


class Reader(_hotpath.GeoReader):
    """A MaxMind DB reader; ``get`` and ``get_with_prefix_len`` are native."""

    def __init__(self, database: str | os.PathLike[str], mode: int = MODE_AUTO) -> None:
        if mode not in (MODE_AUTO, MODE_MMAP_EXT, MODE_MMAP, MODE_FILE, MODE_MEMORY):
            raise ValueError(f"Unsupported open mode ({mode}).")
        super().__init__(os.fspath(database), [], 0)
        self._metadata: Metadata | None = None
        # The native get functions, bound to this reader's state: no
        # argument-parsing layer on the hot path.
        fast_get, fast_prefix = self.fast_methods()
        setattr(self, "get", fast_get)
        setattr(self, "get_with_prefix_len", fast_prefix)

    def metadata(self) -> Metadata:  # type: ignore[override]
        """The metadata of the database."""
        if self._metadata is None:
            self._metadata = Metadata(**super().metadata(0))
        return self._metadata

    def __enter__(self) -> Reader:
        if self.closed:
            raise ValueError("Attempt to reopen a closed MaxMind DB")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_database(database: str | os.PathLike[str], mode: int = MODE_AUTO) -> Reader:
    """Open a MaxMind DB database (memory-mapped; every mode reads the same)."""
    return Reader(database, mode)
