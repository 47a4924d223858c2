"""hotpath: native hot paths (recipe lookup, IP-geo enrichment, limit checks,
chunked storage) for services and analysis scripts."""

from __future__ import annotations

try:
    from . import _hotpath
except ImportError:
    # A checkout: the build puts the native module in <build>/python/hotpath/,
    # a second `hotpath` folder on sys.path (PYTHONPATH=bindings/python:<build>/python).
    from pkgutil import extend_path

    __path__ = extend_path(__path__, __name__)
    from . import _hotpath

from . import (
    _log,  # noqa: F401  (events on the "hotpath" logger; stops them at exit)
    blobs,
    errors,
    events,
    geo,
    host,
    limits,
    maxminddb,
    recipes,
    stats,
    sticky,
    ua,
)
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
    "stats",
    "sticky",
    "ua",
]
