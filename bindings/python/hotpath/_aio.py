"""Bridges loop-thread callbacks to asyncio futures, and the ``async with``
of every handle."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Callable, TypeVar

T = TypeVar("T")
_H = TypeVar("_H", bound="AsyncClosing")


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
    loop settled with ``call_soon_threadsafe``.

    The native side keeps ``callback`` until its call completes, which can be
    long after the await was cancelled: the callback reaches the loop and
    the future only through a cell that cancelling empties, so a cancelled
    call holds nothing of its caller and never touches a loop closed since."""
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[Any] = loop.create_future()
    cell: list[Any] = [loop, fut]

    def callback(error: BaseException | None, value: Any) -> None:
        if not cell:
            return
        lp, f = cell
        cell.clear()
        try:
            lp.call_soon_threadsafe(_settle, f, error, value)
        except RuntimeError:
            pass  # the loop closed meanwhile: nobody waits for this answer

    def forget(f: asyncio.Future[Any]) -> None:
        if f.cancelled():
            cell.clear()

    fut.add_done_callback(forget)
    start(callback)
    return fut


class AsyncClosing:
    """``async with handle:`` closes it on the way out (with ``close_async``
    where the handle has one, so the loop keeps running meanwhile). Every
    handle class that takes it in defines ``close()``."""

    close: Callable[[], None]

    async def __aenter__(self: _H) -> _H:  # noqa: PYI019 (typing.Self needs 3.11)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        close_async = getattr(self, "close_async", None)
        if close_async is not None:
            await close_async()
        else:
            self.close()
