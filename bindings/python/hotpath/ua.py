"""User-agent parsing: browser, engine, OS, device, CPU and bots.

The answers are ua-parser-js 1.x's, field by field ("Chrome", "Mobile
Safari", "Mac OS", "Windows", "iOS", "Android"; ``cpu`` is its
cpu.architecture, ``browser_major`` its browser.major), and ``is_bot`` is
isbot's; unknown fields are ``None``. Repeated strings are served from a
bounded native cache shared by all threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypedDict

from . import _hotpath

DeviceType = Literal["desktop", "mobile", "tablet", "smarttv", "console", "wearable", "embedded", "bot"]


class UAResult(TypedDict):
    """What parse() returns; ua-parser-js 1.x's names, None where unknown.
    device_type is "desktop" where ua-parser-js leaves it unset and "bot"
    where isbot flags the string."""
    browser: str | None
    browser_version: str | None
    browser_major: str | None
    engine: str | None
    engine_version: str | None
    os: str | None
    os_version: str | None
    device_type: DeviceType
    vendor: str | None
    model: str | None
    is_bot: bool
    cpu: str | None


class UAStats(TypedDict):
    """Counters of the native parse cache."""
    hits: int
    misses: int
    capacity: int


def parse(user_agent: str | None) -> UAResult:
    """Parse one User-Agent string (``None`` parses as an empty string).
    Keeps the GIL: a cached parse takes about a tenth of a microsecond."""
    if user_agent is None:
        user_agent = ""
    if not isinstance(user_agent, str):
        raise TypeError(f"ua.parse: expected str, got {type(user_agent).__name__}")
    return _hotpath.ua_parse(user_agent)  # type: ignore[return-value]


def parse_many(user_agents: Iterable[str]) -> list[UAResult]:
    """Parse many strings in one native call, without the GIL while parsing."""
    items = list(user_agents)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"ua.parse_many: item {i} is not a str")
    return _hotpath.ua_parse_many(items)  # type: ignore[return-value]


def stats() -> UAStats:
    """Counters of the native cache: hits, misses and capacity (entries)."""
    return _hotpath.ua_stats()  # type: ignore[return-value]
