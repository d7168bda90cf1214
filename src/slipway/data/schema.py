"""Infer a column type in the user's words (numeric, categorical, boolean, datetime, text)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, cast, get_args

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["COLUMN_TYPES", "ColumnSchema", "ColumnType", "infer_schema"]

ColumnType = Literal["numeric", "categorical", "boolean", "datetime", "text"]
COLUMN_TYPES: tuple[str, ...] = get_args(ColumnType)

# A string column is free text when its values are long and mostly distinct.
TEXT_MIN_MEAN_LENGTH = 30.0
TEXT_MIN_DISTINCT_RATIO = 0.5
_BOOLEAN_STRINGS = frozenset({"true", "false"})
_MAX_BOOLEAN_SPELLINGS = 8  # "true", "True", "TRUE", " true"... before lower-casing


@dataclass(frozen=True)
class ColumnSchema:
    """One column of a dataset: its name, Slipway type and the pyarrow type it was read as."""

    name: str
    type: ColumnType
    arrow_type: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnSchema:
        kind = str(data["type"])
        if kind not in COLUMN_TYPES:
            raise ValueError(f"unknown column type {kind!r}; expected one of {COLUMN_TYPES}")
        return cls(name=str(data["name"]), type=cast(ColumnType, kind), arrow_type=str(data["arrow_type"]))


def infer_schema(table: pa.Table) -> list[ColumnSchema]:
    """Return one :class:`ColumnSchema` per column of ``table``, in column order."""
    return [
        ColumnSchema(name=field.name, type=column_type(table.column(i)), arrow_type=str(field.type))
        for i, field in enumerate(table.schema)
    ]


def column_type(column: pa.ChunkedArray) -> ColumnType:
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "numeric"
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return "datetime"
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return "text"
    if _is_string(kind):
        return _string_type(column)
    return "categorical"


def _is_string(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))


def _string_type(column: pa.ChunkedArray) -> ColumnType:
    count = len(column) - column.null_count
    if count == 0:
        return "categorical"
    distinct = pc.count_distinct(column).as_py()
    if distinct <= _MAX_BOOLEAN_SPELLINGS:
        values = pc.unique(column).drop_null().to_pylist()
        if {str(v).strip().lower() for v in values} <= _BOOLEAN_STRINGS:
            return "boolean"
    mean_length = pc.mean(pc.utf8_length(column)).as_py() or 0.0
    if mean_length > TEXT_MIN_MEAN_LENGTH and distinct / count > TEXT_MIN_DISTINCT_RATIO:
        return "text"
    return "categorical"
