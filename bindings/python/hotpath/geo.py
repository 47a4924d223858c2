"""IP enrichment over MaxMind DB (``.mmdb``) files.

:class:`GeoReader` memory-maps one or more databases. ``get`` returns the
full record of the primary database exactly as the ``maxminddb`` package
does; ``lookup`` merges every database into one flat dict; ``lookup_many``
returns columns (a dict of lists, ready for ``pandas.DataFrame``) and
releases the GIL while it works.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from types import TracebackType
from typing import Any, Union

from . import _hotpath
from ._aio import AsyncClosing
from ._engine import engine
from ._paths import StrPath, fspath
from .stats import GeoStats

Address = Union[str, bytes, ipaddress.IPv4Address, ipaddress.IPv6Address]

#: Keys of :meth:`GeoReader.lookup` and the columns of :meth:`GeoReader.lookup_many`.
FIELDS = (
    "country_code",
    "country_name",
    "continent_code",
    "continent_name",
    "subdivision_code",
    "subdivision_name",
    "city",
    "postal_code",
    "time_zone",
    "as_org",
    "isp",
    "org",
    "latitude",
    "longitude",
    "accuracy_radius",
    "asn",
)


class GeoReader(AsyncClosing):
    """Readers of one or more MaxMind DB files.

    ``extra_paths`` are merged by :meth:`lookup` after ``path`` (e.g. an ISP
    or ASN database next to a City one). ``cache_records`` bounds the decoded
    records kept per database and the Python objects made from them
    (0: 1,048,576), ``cache_bytes`` the memory of those records (0: 512 MiB).
    ``ipv4_index_bits`` is the width of the IPv4 prefix table built at open
    (16..24, 4 << bits bytes per database; 0: 24 for a search tree of 2**20
    nodes or more, else 16). ``max_record_bytes`` (0: 4 MiB) and
    ``max_record_nodes`` (0: 65,536) bound the work of decoding one record,
    a value reached through several pointers counting once per reference: a
    record over either raises :class:`hotpath.errors.LimitError`.

    ``watch_interval_ms`` (0: no watch) polls the files on hotpath's loop
    thread and reloads them when one changes, as Node's ``watchIntervalMs``:
    a file replaced by rename is picked up, lookups in flight finish on the
    old data, :attr:`generation` counts the reloads, and a broken new file
    leaves the old data in service. ``path`` and ``extra_paths`` may be
    ``pathlib.Path``.
    """

    def __init__(
        self,
        path: StrPath,
        extra_paths: Iterable[StrPath] = (),
        cache_records: int = 0,
        ipv4_index_bits: int = 0,
        *,
        cache_bytes: int = 0,
        max_record_bytes: int = 0,
        max_record_nodes: int = 0,
        watch_interval_ms: int = 0,
    ) -> None:
        path = fspath(path, "GeoReader: path")
        extra = [fspath(p, "GeoReader: extra_paths") for p in extra_paths]
        for name, value in (
            ("cache_records", cache_records),
            ("cache_bytes", cache_bytes),
            ("max_record_bytes", max_record_bytes),
            ("max_record_nodes", max_record_nodes),
            ("watch_interval_ms", watch_interval_ms),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
                raise ValueError(f"GeoReader: {name} must be a non-negative int")
        if isinstance(ipv4_index_bits, bool) or not isinstance(ipv4_index_bits, int):
            raise TypeError("GeoReader: ipv4_index_bits must be an int")
        if ipv4_index_bits != 0 and not 16 <= ipv4_index_bits <= 24:
            raise ValueError("GeoReader: ipv4_index_bits must be 0 (automatic) or 16..24")
        if watch_interval_ms >= 2**32:
            raise ValueError("GeoReader: watch_interval_ms must be below 2**32")
        self._native = _hotpath.GeoReader(
            path, extra, cache_records, ipv4_index_bits, cache_bytes, max_record_bytes, max_record_nodes,
            watch_interval_ms, engine() if watch_interval_ms else None,
        )
        # The native get functions, bound to this reader: no Python frame
        # and no argument-parsing layer on the hot path.
        fast_get, fast_prefix = self._native.fast_methods()
        setattr(self, "get", fast_get)
        setattr(self, "get_with_prefix_len", fast_prefix)

    def get(self, ip: Address) -> Any:
        """The full record of ``ip`` in the primary database, or None."""
        return self._native.get(ip)

    def get_with_prefix_len(self, ip: Address) -> tuple[Any, int]:
        """``(record or None, prefix length)``."""
        return self._native.get_with_prefix_len(ip)

    def lookup(self, ip: str | bytes) -> dict[str, Any] | None:
        """The flat enrichment of ``ip`` from every database, or None when
        no database has a record. Absent fields are None."""
        return self._native.lookup(ip)

    def lookup_many(self, ips: Iterable[Any], errors: str = "raise") -> dict[str, list[Any]]:
        """Enrichments of many addresses as columns (a dict of lists, None
        where a field is absent).

        ``errors="raise"`` (the default): InvalidArgumentError naming the
        first item that is not an IP address, TypeError for one that is not
        a str. ``errors="coerce"``: such an item gets None in every column,
        as a missing value (None, NaN) does, like ``pandas.to_numeric``'s
        ``errors="coerce"``; the rest of the batch is enriched."""
        if errors not in ("raise", "coerce"):
            raise ValueError(f"lookup_many: errors must be 'raise' or 'coerce', not {errors!r}")
        return self._native.lookup_many(ips if isinstance(ips, list) else list(ips), errors == "coerce")

    def metadata(self, db: int = 0) -> dict[str, Any]:
        """The raw metadata map of database ``db``."""
        return self._native.metadata(db)

    def reload(self) -> None:
        """Re-open every file and swap atomically; lookups in flight finish
        on the old mapping."""
        self._native.reload()

    @property
    def generation(self) -> int:
        """Increases on every reload (starts at 1)."""
        return self._native.generation()

    def stats(self) -> GeoStats:
        """Counters: lookups, cache use, reloads and the latest reload's
        error (docs/observability.md)."""
        return self._native.stats()  # type: ignore[return-value]

    def close(self) -> None:
        """Unmap the files; later calls raise ClosedError. Idempotent."""
        self._native.close()

    def __enter__(self) -> GeoReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def write_database(
    path: StrPath,
    entries: Iterable[tuple[str, Any]],
    *,
    ip_version: int = 0,
    record_size: int = 0,
    database_type: str = "",
    description: str = "",
    languages: Iterable[str] = (),
    build_epoch: int = 0,
) -> None:
    """Write a MaxMind DB file from ``(network, record)`` pairs.

    Networks are ``"1.2.3.0/24"``, ``"2001:db8::/32"`` or a single address.
    ints become uint32 (0..2**32-1), int32 (negative), uint64 or uint128;
    floats double; bytes bytes. A later network wins where they overlap.
    ``ip_version`` 0 (6), ``record_size`` 0 (the smallest that fits) and
    ``database_type`` "" ("hotpath") take the C library's defaults.
    """
    if ip_version not in (0, 4, 6):
        raise ValueError("write_database: ip_version must be 4 or 6")
    if record_size not in (0, 24, 28, 32):
        raise ValueError("write_database: record_size must be 24, 28 or 32")
    _hotpath.geo_write(
        fspath(path, "write_database: path"),
        [(str(n), r) for n, r in entries],
        ip_version,
        record_size,
        database_type,
        description,
        list(languages),
        build_epoch,
    )
