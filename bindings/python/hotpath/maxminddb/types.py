"""Types of records, with maxminddb's names."""

from __future__ import annotations

from typing import Dict, List, Union

Primitive = Union[str, bytes, bool, float, int]
RecordList = List["Record"]
RecordDict = Dict[str, "Record"]
Record = Union[Primitive, RecordList, RecordDict]

__all__ = ["Primitive", "Record", "RecordDict", "RecordList"]
