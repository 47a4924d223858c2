"""``maxminddb.extension``: maxminddb's C reader. hotpath's reader is native
in every mode, so this is the same :class:`Reader`."""

from __future__ import annotations

from .reader import Metadata, Reader

__all__ = ["Metadata", "Reader"]
