"""Per-column statistics of a table, computed column by column with pyarrow and numpy.

The whole table is never converted to pandas or to Python objects: a dataset of a
million rows is profiled one column at a time, and only the non-null values of
one numeric column are ever materialised as a numpy array.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from slipway.core.errors import InvalidInput
from slipway.data.schema import ColumnSchema

__all__ = ["HISTOGRAM_BINS", "TOP_VALUES", "profile_column", "profile_table"]

TOP_VALUES = 10
HISTOGRAM_BINS = 20
# Numeric columns with at most this many distinct values also get top values
# (codes, counts, ratings read better as a frequency table).
FEW_DISTINCT = 20


def profile_table(table: pa.Table, schema: list[ColumnSchema]) -> dict[str, dict[str, Any]]:
    """Profile every column in ``schema``; the result is keyed by column name and JSON-ready.

    Each entry has ``type``, ``count`` (non-null), ``missing``, ``distinct``, ``min``,
    ``max``, ``mean``, ``std``, ``top_values`` and ``histogram``; statistics that do
    not apply to a column type are ``None``. Floats are never NaN or infinite.
    """
    missing = [c.name for c in schema if c.name not in table.column_names]
    if missing:
        raise InvalidInput(
            f"schema names columns the table does not have: {', '.join(missing)}",
            hint="Infer the schema from the same table you profile.",
        )
    return {c.name: profile_column(table.column(c.name), c.type) for c in schema}


def profile_column(column: pa.ChunkedArray, kind: str) -> dict[str, Any]:
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_floating(column.type):
        # NaN is a missing value to the user, not a number to average.
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    count = len(column) - column.null_count
    distinct = pc.count_distinct(column).as_py() if count else 0
    out: dict[str, Any] = {
        "type": kind,
        "count": count,
        "missing": column.null_count,
        "distinct": distinct,
        "min": None,
        "max": None,
        "mean": None,
        "std": None,
        "top_values": None,
        "histogram": None,
    }
    if count == 0:
        return out
    if kind == "numeric" and _is_number(column.type):
        out.update(_numeric_stats(column))
        if distinct <= FEW_DISTINCT:
            out["top_values"] = _top_values(column)
    elif kind == "datetime" and _is_temporal(column.type):
        out.update(_datetime_stats(column))
    else:
        out["top_values"] = _top_values(column)
    return out


def _is_number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind))


def _is_temporal(kind: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(kind) or pa.types.is_date(kind))


def _numeric_stats(column: pa.ChunkedArray) -> dict[str, Any]:
    if pa.types.is_decimal(column.type):
        column = column.cast(pa.float64())
    bounds = pc.min_max(column)
    values = _non_null_numpy(column)
    return {
        "min": _json_value(bounds["min"].as_py()),
        "max": _json_value(bounds["max"].as_py()),
        "mean": _json_value(pc.mean(column).as_py()),
        "std": _json_value(pc.stddev(column, ddof=1).as_py()) if len(values) > 1 else None,
        "histogram": _histogram(values),
    }


def _datetime_stats(column: pa.ChunkedArray) -> dict[str, Any]:
    bounds = pc.min_max(column)
    integer = pa.int32() if pa.types.is_date32(column.type) else pa.int64()
    ticks = _non_null_numpy(column.cast(integer))
    bins = _histogram(ticks)
    for b in bins:
        b["start"] = _json_value(_tick_to_scalar(b["start"], column.type, floor=True))
        b["end"] = _json_value(_tick_to_scalar(b["end"], column.type, floor=False))
    return {
        "min": _json_value(bounds["min"].as_py()),
        "max": _json_value(bounds["max"].as_py()),
        "histogram": bins,
    }


def _tick_to_scalar(tick: float, kind: pa.DataType, *, floor: bool) -> Any:
    rounded = math.floor(tick) if floor else math.ceil(tick)
    storage = pa.int32() if pa.types.is_date32(kind) else pa.int64()
    return pa.scalar(rounded, storage).cast(kind).as_py()


def _non_null_numpy(column: pa.ChunkedArray) -> np.ndarray:
    chunks = [c.to_numpy(zero_copy_only=False) for c in column.drop_null().chunks if len(c)]
    return np.concatenate(chunks) if chunks else np.empty(0)


def _histogram(values: np.ndarray) -> list[dict[str, Any]]:
    if np.issubdtype(values.dtype, np.floating):
        values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    low, high = values.min(), values.max()
    if low == high:
        return [{"start": _json_value(low), "end": _json_value(high), "count": int(values.size)}]
    bins = HISTOGRAM_BINS
    if np.issubdtype(values.dtype, np.integer):
        # Integer data with a small range: one bin per value (no empty half-bins).
        span = int(high) - int(low) + 1
        bins = min(bins, span)
    counts, edges = np.histogram(values.astype(np.float64, copy=False), bins=bins)
    return [
        {"start": float(edges[i]), "end": float(edges[i + 1]), "count": int(counts[i])}
        for i in range(len(counts))
    ]


def _top_values(column: pa.ChunkedArray) -> list[dict[str, Any]]:
    counts = pc.value_counts(column)
    frequent = pa.table({"value": counts.field("values"), "count": counts.field("counts")})
    frequent = frequent.filter(pc.is_valid(frequent["value"]))
    # Ties are broken by value so the same data always gives the same top values.
    order = pc.select_k_unstable(
        frequent,
        k=min(TOP_VALUES, frequent.num_rows),
        sort_keys=[("count", "descending"), ("value", "ascending")],
    )
    rows = frequent.take(order).to_pylist()
    return [{"value": _json_value(r["value"]), "count": int(r["count"])} for r in rows]


def _json_value(value: Any) -> Any:
    """Turn one pyarrow/numpy scalar into plain JSON: no NaN/inf, datetimes as ISO text."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, np.generic):
        return _json_value(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return _json_value(float(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
