"""Exceptions raised by hotpath.

Every error is a :class:`Error` with ``code`` (``"HP_ENOTFOUND"``), ``number``
(the C library's negative code, -2), ``message`` and ``detail``; codes and numbers
come from the C library's error table at import. Each class also inherits the
builtin that fits, so ``except ValueError`` catches an invalid argument. A failed system call raises
the ``OSError`` subclass Python itself would (``FileNotFoundError``, ``PermissionError``,
...) with ``errno``, ``strerror`` and ``filename`` set, which is also a
:class:`HotpathIOError`.
"""

from __future__ import annotations

import errno as _errno
import os

from . import _hotpath


class Error(Exception):
    """Base class of every hotpath error. The same attributes as a Node
    ``HotpathError``: ``code`` (``"HP_ENOTFOUND"``), ``number`` (its negative
    value, -2; Node's ``errno``), ``message`` and ``detail`` (the C library's
    text of the failure, as ``hp_last_error()``)."""

    code: str = "HP_EUNKNOWN"
    number: int = 0

    def __init__(self, message: str, code: str | None = None, number: int | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        if number is not None:
            self.number = number
        self.message = message
        self.detail = message


class InvalidArgumentError(Error, ValueError):
    """HP_EINVAL: an argument is out of range or malformed."""

    code = "HP_EINVAL"


class NotFoundError(Error, LookupError):
    """HP_ENOTFOUND: the thing asked for does not exist."""

    code = "HP_ENOTFOUND"


class CorruptError(Error, RuntimeError):
    """HP_ECORRUPT: a file or record is damaged (a RuntimeError, as maxminddb's
    InvalidDatabaseError is)."""

    code = "HP_ECORRUPT"


class HotpathIOError(Error, OSError):
    """HP_EIO: reading or writing failed. After a failed system call
    ``errno``/``strerror``/``filename`` are set as Python sets them, ``syscall``
    names the call and ``detail`` keeps hotpath's message."""

    code = "HP_EIO"
    syscall: str = ""


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

    code = "HP_EUNAVAILABLE"


class LimitError(Error):
    """HP_ELIMIT: a limit was reached."""

    code = "HP_ELIMIT"


class HotpathMemoryError(Error, MemoryError):
    """HP_ENOMEM: out of memory."""

    code = "HP_ENOMEM"


class ClosedError(Error, ValueError):
    """HP_ECLOSED: the handle or engine is closed."""

    code = "HP_ECLOSED"


class CanceledError(Error):
    """HP_ECANCELED: the operation was canceled."""

    code = "HP_ECANCELED"


class InternalError(Error, RuntimeError):
    """HP_EINTERNAL: a bug in hotpath; please report it."""

    code = "HP_EINTERNAL"


class AddressFamilyError(Error, ValueError):
    """HP_EFAMILY: an IPv6 address asked of an IPv4-only database (a ValueError,
    as maxminddb raises)."""

    code = "HP_EFAMILY"


def _classes_by_code() -> dict[str, type[Error]]:
    """One class per code of the C library's table (``_hotpath.codes``), each
    given its number from there. A code this module has no class for yet gets
    a plain subclass of :class:`Error`, so a newer library never raises the
    base class with a wrong code."""
    declared = {cls.code: cls for cls in _subclasses(Error) if "code" in vars(cls)}
    by_code: dict[str, type[Error]] = {}
    for code, number in _hotpath.codes.items():
        cls = declared.get(code)
        if cls is None:
            cls = type(code.replace("HP_E", "").title() + "Error", (Error,), {"code": code, "__module__": __name__})
        cls.number = number
        by_code[code] = cls
    return by_code


def _subclasses(cls: type[Error]) -> list[type[Error]]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_subclasses(sub))
    return out


_BY_CODE = _classes_by_code()


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


_hotpath._set_error_factory(from_code)


def io_error(sys_errno: int, path: str = "", detail: str = "", syscall: str = "") -> HotpathIOError:
    """The HP_EIO exception for a failed system call: the matching ``OSError``
    subclass, with ``errno``, ``strerror`` and ``filename`` as Python sets them;
    ``detail`` keeps hotpath's message and ``syscall`` the call that failed."""
    cls = _BY_ERRNO.get(sys_errno, HotpathIOError)
    exc = cls(detail or os.strerror(sys_errno), "HP_EIO", HotpathIOError.number)
    exc.errno = sys_errno
    exc.strerror = os.strerror(sys_errno)
    exc.filename = path or None
    exc.detail = detail or exc.detail
    exc.syscall = syscall
    return exc
