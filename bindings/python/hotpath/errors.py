"""Exceptions raised by hotpath.

Every error is a :class:`Error` with ``code`` (``"HP_ENOTFOUND"``) and
``number`` (the C library's negative code, -2). Each class also inherits the builtin that
fits, so ``except ValueError`` catches an invalid argument.
"""

from __future__ import annotations


class Error(Exception):
    """Base class of every hotpath error."""

    code: str = "HP_EUNKNOWN"
    number: int = 0

    def __init__(self, message: str, code: str | None = None, number: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if number is not None:
            self.number = number


class InvalidArgumentError(Error, ValueError):
    """HP_EINVAL: an argument is out of range or malformed."""


class NotFoundError(Error, LookupError):
    """HP_ENOTFOUND: the thing asked for does not exist."""


class CorruptError(Error):
    """HP_ECORRUPT: a file or record is damaged."""


class HotpathIOError(Error, OSError):
    """HP_EIO: reading or writing failed."""


class UnavailableError(Error, ConnectionError):
    """HP_EUNAVAILABLE: a backend (Redis, a database) cannot be reached."""


class LimitError(Error):
    """HP_ELIMIT: a limit was reached."""


class HotpathMemoryError(Error, MemoryError):
    """HP_ENOMEM: out of memory."""


class ClosedError(Error, ValueError):
    """HP_ECLOSED: the handle or engine is closed."""


class CanceledError(Error):
    """HP_ECANCELED: the operation was canceled."""


class InternalError(Error, RuntimeError):
    """HP_EINTERNAL: a bug in hotpath; please report it."""


_BY_CODE: dict[str, type[Error]] = {
    "HP_EINVAL": InvalidArgumentError,
    "HP_ENOTFOUND": NotFoundError,
    "HP_ECORRUPT": CorruptError,
    "HP_EIO": HotpathIOError,
    "HP_EUNAVAILABLE": UnavailableError,
    "HP_ELIMIT": LimitError,
    "HP_ENOMEM": HotpathMemoryError,
    "HP_ECLOSED": ClosedError,
    "HP_ECANCELED": CanceledError,
    "HP_EINTERNAL": InternalError,
}


def from_code(number: int, code: str, message: str) -> Error:
    """The exception for a C error code (used by the native module)."""
    cls = _BY_CODE.get(code, Error)
    return cls(message, code, number)
