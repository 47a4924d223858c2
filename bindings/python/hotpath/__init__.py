"""hotpath: native hot paths (recipe lookup, IP-geo enrichment, limit checks,
chunked storage) for services and analysis scripts."""

from __future__ import annotations

import _hotpath

from . import blobs, errors, events, geo, host, limits, maxminddb, recipes, sticky, ua
from .errors import Error
from .sticky import fingerprint32, fingerprint32_many

__version__: str = _hotpath.__version__

__all__ = [
    "Error",
    "__version__",
    "blobs",
    "errors",
    "events",
    "fingerprint32",
    "fingerprint32_many",
    "geo",
    "host",
    "limits",
    "maxminddb",
    "recipes",
    "sticky",
    "ua",
]
