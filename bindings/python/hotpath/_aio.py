"""Bridges loop-thread callbacks to asyncio futures."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def _settle(fut: asyncio.Future[Any], error: BaseException | None, value: Any) -> None:
    if fut.cancelled():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)


def run(start: Callable[[Callable[[BaseException | None, Any], None]], None]) -> asyncio.Future[Any]:
    """Starts a native call that reports through ``callback(error, value)``
    on the engine's loop thread, and returns a future of the running asyncio
    loop settled with ``call_soon_threadsafe``."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()

    def callback(error: BaseException | None, value: Any) -> None:
        loop.call_soon_threadsafe(_settle, fut, error, value)

    start(callback)
    return fut
