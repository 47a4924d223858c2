"""Paths as users pass them: ``str`` or any ``os.PathLike`` (``pathlib.Path``)."""

from __future__ import annotations

import os
from typing import Union

#: A file name: ``str`` or ``os.PathLike[str]``.
StrPath = Union[str, os.PathLike[str]]


def fspath(value: object, what: str) -> str:
    """``value`` as a non-empty str; TypeError naming ``what`` otherwise."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise TypeError(f"{what} must be a non-empty str or os.PathLike")
    return value


def store_spec(spec: object, what: str) -> str:
    """A store spec: a str as given, or a path naming a SQLite file
    (``Path("x.db")`` is ``"sqlite:x.db"``)."""
    if isinstance(spec, os.PathLike):
        return "sqlite:" + fspath(spec, what)
    if not isinstance(spec, str):
        raise TypeError(f"{what} must be a str or os.PathLike")
    return spec
