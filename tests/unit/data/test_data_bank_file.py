"""read + infer + profile on the real bank-marketing file, checked against pandas."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from slipway.data import infer_schema, profile_table, read_table

# The shared data sits beside the project checkout (as in CI); fall back to the dev machine's copy.
BANK = Path(__file__).resolve().parents[4] / "shared" / "data" / "bankmarketing" / "train.csv"
if not BANK.exists():
    BANK = Path("/work/shared/data/bankmarketing/train.csv")

pytestmark = pytest.mark.skipif(not BANK.exists(), reason="shared bank-marketing file not present")

NUMERIC = [
    "age",
    "duration",
    "campaign",
    "pdays",
    "previous",
    "emp.var.rate",
    "cons.price.idx",
    "cons.conf.idx",
    "euribor3m",
    "nr.employed",
]


def test_real_bank_file() -> None:
    table = read_table(BANK)
    expected = pd.read_csv(BANK)
    assert (table.num_rows, table.num_columns) == (26361, 21)
    assert table.column_names == list(expected.columns)

    schema = infer_schema(table)
    types = {c.name: c.type for c in schema}
    assert [n for n, t in types.items() if t == "numeric"] == NUMERIC
    assert {t for n, t in types.items() if n not in NUMERIC} == {"categorical"}

    profile = profile_table(table, schema)
    json.dumps(profile, allow_nan=False)
    y = profile["y"]
    counts = expected["y"].value_counts()
    assert y["top_values"] == [
        {"value": "no", "count": int(counts["no"])},
        {"value": "yes", "count": int(counts["yes"])},
    ]
    assert 0.10 < counts["yes"] / len(expected) < 0.12
    assert y["distinct"] == 2 and y["missing"] == 0

    for column in ("age", "duration", "euribor3m"):
        p, s = profile[column], expected[column]
        assert p["count"] == s.count() and p["missing"] == 0
        assert p["distinct"] == s.nunique()
        assert p["min"] == pytest.approx(s.min()) and p["max"] == pytest.approx(s.max())
        assert p["mean"] == pytest.approx(s.mean())
        assert p["std"] == pytest.approx(s.std())
        assert sum(b["count"] for b in p["histogram"]) == len(s)

    job = profile["job"]["top_values"]
    assert job[:3] == [
        {"value": v, "count": int(c)} for v, c in expected["job"].value_counts().head(3).items()
    ]
    assert len(job) == 10  # 12 jobs, capped
    assert profile["emp.var.rate"]["top_values"][0]["value"] == pytest.approx(
        expected["emp.var.rate"].mode()[0]
    )
