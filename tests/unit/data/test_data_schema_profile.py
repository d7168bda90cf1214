"""infer_schema and profile_table on small tables with known answers."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from slipway.core.errors import InvalidInput
from slipway.data import ColumnSchema, infer_schema, profile_table, read_table

LONG_TEXTS = [f"customer {i} wrote a long free-text complaint about item {i * 7}" for i in range(8)]


def types_of(table: pa.Table) -> dict[str, str]:
    return {c.name: c.type for c in infer_schema(table)}


def test_types_from_a_csv(tmp_path: Path) -> None:
    lines = ["n,x,flag,word,yn,when,day,note,code"]
    for i in range(8):
        lines.append(
            f"{i},{i / 2},{'true' if i % 2 else 'false'},{'abc'[i % 3]},{'yes' if i % 2 else 'no'},"
            f'2024-01-0{i + 1}T10:00:00,2024-02-0{i + 1},"{LONG_TEXTS[i]}",{i % 2}'
        )
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    schema = infer_schema(read_table(path))
    assert {c.name: c.type for c in schema} == {
        "n": "numeric",
        "x": "numeric",
        "flag": "boolean",
        "word": "categorical",
        "yn": "categorical",
        "when": "datetime",
        "day": "datetime",
        "note": "text",
        "code": "numeric",
    }
    by_name = {c.name: c for c in schema}
    assert by_name["n"].arrow_type == "int64"
    assert by_name["when"].arrow_type == "timestamp[s]"
    assert by_name["day"].to_dict() == {"name": "day", "type": "datetime", "arrow_type": "date32[day]"}


def test_true_false_strings_are_boolean_but_yes_no_stay_categorical() -> None:
    table = pa.table(
        {
            "tf": pa.array(["TRUE", "false", None, "True"], pa.string()),
            "yn": pa.array(["yes", "no", "no", "yes"], pa.string()),
            "one": pa.array(["false", "false", "false", "false"], pa.string()),
            "tfx": pa.array(["true", "false", "maybe", "true"], pa.string()),
        }
    )
    assert types_of(table) == {"tf": "boolean", "yn": "categorical", "one": "boolean", "tfx": "categorical"}


def test_long_but_repetitive_strings_are_categorical() -> None:
    label = "a very long category label that repeats on every row"
    table = pa.table({"c": [label] * 6 + ["another very long category label, also repeated"] * 6})
    assert types_of(table) == {"c": "categorical"}


def test_short_unique_strings_are_categorical() -> None:
    assert types_of(pa.table({"id": [f"id{i}" for i in range(10)]})) == {"id": "categorical"}


def test_other_arrow_types() -> None:
    table = pa.table(
        {
            "dict": pa.array(["a", "b", "a"]).dictionary_encode(),
            "f32": pa.array([1.0, 2.0, None], pa.float32()),
            "nulls": pa.array([None, None, None], pa.null()),
            "tz": pa.array([0, 1, 2], pa.timestamp("ms", tz="UTC")),
        }
    )
    assert types_of(table) == {
        "dict": "categorical",
        "f32": "numeric",
        "nulls": "categorical",
        "tz": "datetime",
    }


def test_column_schema_round_trip() -> None:
    column = ColumnSchema(name="age", type="numeric", arrow_type="int64")
    assert ColumnSchema.from_dict(column.to_dict()) == column
    with pytest.raises(ValueError, match="unknown column type 'number'"):
        ColumnSchema.from_dict({"name": "a", "type": "number", "arrow_type": "int64"})


# --- profile ------------------------------------------------------------------------------


def profile(table: pa.Table) -> dict[str, dict]:
    result = profile_table(table, infer_schema(table))
    json.dumps(result, allow_nan=False)  # plain JSON, no NaN/inf
    return result


def test_numeric_profile_matches_numpy() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(50.0, 10.0, 500)
    data: list[float | None] = [*values.tolist(), None, None]
    p = profile(pa.table({"x": pa.array(data, pa.float64())}))["x"]
    assert p["type"] == "numeric"
    assert (p["count"], p["missing"], p["distinct"]) == (500, 2, 500)
    assert p["min"] == pytest.approx(values.min())
    assert p["max"] == pytest.approx(values.max())
    assert p["mean"] == pytest.approx(values.mean())
    assert p["std"] == pytest.approx(values.std(ddof=1))
    assert p["top_values"] is None  # many distinct values
    assert len(p["histogram"]) == 20
    assert sum(b["count"] for b in p["histogram"]) == 500
    assert p["histogram"][0]["start"] == pytest.approx(values.min())
    assert p["histogram"][-1]["end"] == pytest.approx(values.max())
    counts, _ = np.histogram(values, bins=20)
    assert [b["count"] for b in p["histogram"]] == counts.tolist()


def test_nan_and_inf_never_reach_json() -> None:
    p = profile(pa.table({"x": pa.array([1.0, math.nan, 3.0, None])}))["x"]
    assert (p["count"], p["missing"]) == (2, 2)  # NaN counts as missing
    assert p["mean"] == 2.0
    q = profile(pa.table({"y": pa.array([1.0, math.inf, 2.0])}))["y"]
    assert q["max"] is None and q["mean"] is None


def test_numeric_with_few_distinct_values_gets_top_values() -> None:
    p = profile(pa.table({"k": [3, 1, 3, 2, 3, 1]}))["k"]
    assert p["top_values"] == [{"value": 3, "count": 3}, {"value": 1, "count": 2}, {"value": 2, "count": 1}]
    assert [b["count"] for b in p["histogram"]] == [2, 1, 3]  # one bin per integer value
    assert (p["min"], p["max"]) == (1, 3)


def test_constant_and_single_value_columns() -> None:
    p = profile(pa.table({"c": [7, 7, 7]}))["c"]
    assert p["histogram"] == [{"start": 7, "end": 7, "count": 3}]
    assert p["std"] == 0.0
    single = profile(pa.table({"s": [5.5]}))["s"]
    assert single["std"] is None and single["mean"] == 5.5


def test_all_missing_column() -> None:
    p = profile(pa.table({"n": pa.array([None, None], pa.int64())}))["n"]
    assert p == {
        "type": "numeric",
        "count": 0,
        "missing": 2,
        "distinct": 0,
        "min": None,
        "max": None,
        "mean": None,
        "std": None,
        "top_values": None,
        "histogram": None,
    }


def test_categorical_top_values_sorted_and_capped_at_ten() -> None:
    values = [f"v{i:02d}" for i in range(15) for _ in range(i + 1)] + [None] * 4
    p = profile(pa.table({"c": pa.array(values, pa.string())}))["c"]
    assert p["type"] == "categorical"
    assert (p["count"], p["missing"], p["distinct"]) == (120, 4, 15)
    assert [t["value"] for t in p["top_values"]] == [f"v{i:02d}" for i in range(14, 4, -1)]
    assert [t["count"] for t in p["top_values"]] == list(range(15, 5, -1))
    assert p["min"] is None and p["mean"] is None and p["histogram"] is None


def test_top_value_ties_are_broken_by_value() -> None:
    values = [f"k{i:02d}" for i in range(30, 0, -1)] + ["k99", "k99"]
    p = profile(pa.table({"c": values}))["c"]
    assert p["top_values"][0] == {"value": "k99", "count": 2}
    assert [t["value"] for t in p["top_values"][1:]] == [f"k{i:02d}" for i in range(1, 10)]


def test_boolean_profile() -> None:
    p = profile(pa.table({"b": pa.array([True, False, True, None])}))["b"]
    assert p["type"] == "boolean"
    assert p["top_values"] == [{"value": True, "count": 2}, {"value": False, "count": 1}]
    assert p["mean"] is None


def test_datetime_profile_has_iso_bounds_and_histogram() -> None:
    start = dt.datetime(2024, 1, 1)
    stamps = [start + dt.timedelta(hours=h) for h in range(0, 240, 6)]  # 40 values over 10 days
    table = pa.table(
        {"t": pa.array(stamps, pa.timestamp("s")), "d": pa.array([s.date() for s in stamps], pa.date32())}
    )
    p = profile(table)
    t = p["t"]
    assert t["type"] == "datetime"
    assert (t["min"], t["max"]) == ("2024-01-01T00:00:00", "2024-01-10T18:00:00")
    assert t["histogram"][0]["start"] == "2024-01-01T00:00:00"
    assert t["histogram"][-1]["end"] == "2024-01-10T18:00:00"
    assert sum(b["count"] for b in t["histogram"]) == 40
    assert len(t["histogram"]) == 20
    assert t["mean"] is None and t["std"] is None
    d = p["d"]
    assert (d["min"], d["max"], d["distinct"]) == ("2024-01-01", "2024-01-10", 10)
    assert sum(b["count"] for b in d["histogram"]) == 40
    assert [b["count"] for b in d["histogram"]] == [4] * 10  # one bin per day


def test_schema_must_match_table() -> None:
    table = pa.table({"a": [1]})
    with pytest.raises(InvalidInput, match="does not have: b"):
        profile_table(table, [ColumnSchema("b", "numeric", "int64")])


def test_profile_of_a_multi_chunk_table(tmp_path: Path) -> None:
    # Several record batches (chunks) must give the same numbers as one.
    table = pa.concat_tables(
        [
            pa.table({"x": [1, 2, None], "c": ["a", "b", "a"]}),
            pa.table({"x": [3, 4, 5], "c": ["a", None, "c"]}),
        ]
    )
    assert table.column("x").num_chunks == 2
    p = profile(table)
    assert (p["x"]["count"], p["x"]["mean"], p["x"]["max"]) == (5, 3.0, 5)
    assert p["c"]["top_values"][0] == {"value": "a", "count": 3}
