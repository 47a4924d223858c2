"""Types of records, with maxminddb's names."""

from __future__ import annotations

from typing import Union

Primitive = Union[str, bytes, bool, float, int]
RecordList = list["Record"]
RecordDict = dict[str, "Record"]
Record = Union[Primitive, RecordList, RecordDict]

__all__ = ["Primitive", "Record", "RecordDict", "RecordList"]
