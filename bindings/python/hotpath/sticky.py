"""FarmHash fingerprints and sticky worker choice."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from . import _hotpath

Mode = Literal["modulo", "jump"]
_MODES = {"modulo": _hotpath.STICKY_MODULO, "jump": _hotpath.STICKY_JUMP}


def fingerprint32(data: str | bytes | bytearray | memoryview) -> int:
    """FarmHash Fingerprint32, identical to the ``farmhash`` npm package's
    ``fingerprint32``; a ``str`` is hashed as its UTF-8 bytes."""
    if not isinstance(data, (str, bytes, bytearray, memoryview)):
        raise TypeError(f"fingerprint32: expected str or bytes-like, got {type(data).__name__}")
    return _hotpath.fingerprint32(data)


def fingerprint32_many(items: Iterable[str]) -> list[int]:
    """Fingerprint32 of many strings in one native call."""
    return _hotpath.fingerprint32_many(list(items))


def pick(address: str, workers: int, mode: Mode = "modulo") -> int:
    """The worker index for a client address.

    ``"modulo"`` is the Perfload seed's ``fingerprint32(address) % workers``
    on the address text as given; ``"jump"`` folds IPv4-mapped IPv6 to IPv4
    and uses jump consistent hashing, so adding a worker moves about 1/n of
    the clients.
    """
    if not isinstance(address, str):
        raise TypeError("pick: address must be a str")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 0xFFFFFFFF:
        raise ValueError("pick: workers must be a positive integer")
    if mode not in _MODES:
        raise ValueError(f"pick: mode must be 'modulo' or 'jump', not {mode!r}")
    return _hotpath.sticky_pick(address, workers, _MODES[mode])
