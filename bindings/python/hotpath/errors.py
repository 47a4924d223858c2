"""Exceptions raised by hotpath.

Every error is a :class:`Error` with ``code`` (``"HP_ENOTFOUND"``) and
``number`` (the C library's negative code, -2). Each class also inherits the builtin that
fits, so ``except ValueError`` catches an invalid argument. A failed system call raises
the ``OSError`` subclass Python itself would (``FileNotFoundError``, ``PermissionError``,
...) with ``errno``, ``strerror`` and ``filename`` set, which is also a
:class:`HotpathIOError`.
"""

from __future__ import annotations

import errno as _errno
import os


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


class CorruptError(Error, RuntimeError):
    """HP_ECORRUPT: a file or record is damaged (a RuntimeError, as maxminddb's
    InvalidDatabaseError is)."""


class HotpathIOError(Error, OSError):
    """HP_EIO: reading or writing failed. After a failed system call
    ``errno``/``strerror``/``filename`` are set as Python sets them, ``syscall``
    names the call and ``detail`` keeps hotpath's message."""

    syscall: str = ""
    detail: str = ""


class HotpathFileNotFoundError(HotpathIOError, FileNotFoundError):
    """HP_EIO from ENOENT: the file does not exist."""


class HotpathPermissionError(HotpathIOError, PermissionError):
    """HP_EIO from EACCES or EPERM: the file may not be read or written."""


class HotpathIsADirectoryError(HotpathIOError, IsADirectoryError):
    """HP_EIO from EISDIR: a directory where a file was expected."""


class HotpathNotADirectoryError(HotpathIOError, NotADirectoryError):
    """HP_EIO from ENOTDIR: a path goes through something that is not a directory."""


class HotpathFileExistsError(HotpathIOError, FileExistsError):
    """HP_EIO from EEXIST: the file exists already."""


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


_BY_ERRNO: dict[int, type[HotpathIOError]] = {
    _errno.ENOENT: HotpathFileNotFoundError,
    _errno.EACCES: HotpathPermissionError,
    _errno.EPERM: HotpathPermissionError,
    _errno.EISDIR: HotpathIsADirectoryError,
    _errno.ENOTDIR: HotpathNotADirectoryError,
    _errno.EEXIST: HotpathFileExistsError,
}


def from_code(
    number: int, code: str, message: str, sys_errno: int = 0, syscall: str = "", path: str = ""
) -> Error:
    """The exception for a C error code (used by the native module); ``sys_errno``,
    ``syscall`` and ``path`` describe the system call behind an I/O error."""
    if sys_errno and code == "HP_EIO":
        return io_error(sys_errno, path, message, syscall)
    cls = _BY_CODE.get(code, Error)
    return cls(message, code, number)


def io_error(sys_errno: int, path: str = "", detail: str = "", syscall: str = "") -> HotpathIOError:
    """The HP_EIO exception for a failed system call: the matching ``OSError``
    subclass, with ``errno``, ``strerror`` and ``filename`` as Python sets them;
    ``detail`` keeps hotpath's message and ``syscall`` the call that failed."""
    cls = _BY_ERRNO.get(sys_errno, HotpathIOError)
    exc = cls(detail or os.strerror(sys_errno), "HP_EIO", -4)
    exc.errno = sys_errno
    exc.strerror = os.strerror(sys_errno)
    exc.filename = path or None
    exc.detail = detail
    exc.syscall = syscall
    return exc
