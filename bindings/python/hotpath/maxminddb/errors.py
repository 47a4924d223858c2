"""The drop-in's exceptions, with maxminddb's names and messages.

:class:`InvalidDatabaseError` is hotpath's :class:`~hotpath.errors.CorruptError`
(a ``RuntimeError``, as maxminddb's is). A record whose map key is not UTF-8
raises :class:`InvalidUnicodeError`, which is both an ``InvalidDatabaseError``
and a ``UnicodeDecodeError`` (what maxminddb raises there).
"""

from __future__ import annotations

from ..errors import CorruptError, Error, from_code

#: Raised for a damaged database.
InvalidDatabaseError = CorruptError

# maxminddb's wording for a record that its decoder refuses; users match on it.
_BAD_DATA = "The MaxMind DB file's data section contains bad data (unknown data type or corrupt data)"
# A record over a decode budget (HP_ELIMIT, or HP_ECORRUPT naming a limit)
# in maxminddb's words, by the budget the detail names.
_LIMITS = (
    (("max_record_bytes", "payload"), "The MaxMind DB file's data section exceeds the maximum payload size"),
    (("max_record_nodes", "values"), "The MaxMind DB file's data section exceeds the maximum number of values"),
    (("depth", "deep", "nest"), "The MaxMind DB file's data section exceeds the maximum depth"),
)


def _limit_text(message: str) -> str | None:
    lowered = message.lower()
    for words, text in _LIMITS:
        if any(w in lowered for w in words):
            return text
    return None


class InvalidUnicodeError(CorruptError, UnicodeDecodeError):
    """A string in the database (a map key) is not valid UTF-8."""

    __str__ = UnicodeDecodeError.__str__

    def __init__(self, detail: str) -> None:
        UnicodeDecodeError.__init__(self, "utf-8", b"", 0, 0, detail)
        self.code = "HP_ECORRUPT"
        self.number = -3


def lookup_error(number: int, code: str, message: str, sys_errno: int, syscall: str, path: str) -> Error:
    """The exception of a failed lookup, as maxminddb raises it (used by the
    native get functions of a drop-in reader)."""
    if code == "HP_ELIMIT":
        return InvalidDatabaseError(_limit_text(message) or message, code, number)
    if code != "HP_ECORRUPT":
        return from_code(number, code, message, sys_errno, syscall, path)
    if "utf-8" in message.lower():
        return InvalidUnicodeError(message)
    if "limit" in message.lower():
        text = _limit_text(message)
        if text:
            return InvalidDatabaseError(text, code, number)
    return InvalidDatabaseError(f"{_BAD_DATA}: {message}", code, number)


def open_error(exc: Error, filename: object) -> Error:
    """A failed open (HP_ECORRUPT or HP_ELIMIT) in maxminddb's words where
    users match on them."""
    message = str(exc)
    if exc.code == "HP_ELIMIT":
        return InvalidDatabaseError(_limit_text(message) or message, exc.code, exc.number)
    if "no metadata section" in message:
        text = f"Error opening database file ({filename}). Is this a valid MaxMind DB file?"
    elif "search tree is larger than the file" in message:
        text = f"Error opening database file ({filename}). The search tree extends past the end of the file."
    else:
        return exc
    return InvalidDatabaseError(f"{text} ({message})", exc.code, exc.number)


__all__ = ["InvalidDatabaseError", "InvalidUnicodeError"]
