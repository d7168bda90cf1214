"""The synthetic bank-marketing sample looks like the real file and carries a real signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from slipway.data import infer_schema, read_table
from slipway.samples import COLUMNS, bank_marketing, write_bank_marketing_csv

# The shared data sits beside the project checkout (as in CI); fall back to the dev machine's copy.
BANK = Path(__file__).resolve().parents[4] / "shared" / "data" / "bankmarketing" / "train.csv"
if not BANK.exists():
    BANK = Path("/work/shared/data/bankmarketing/train.csv")
needs_real = pytest.mark.skipif(not BANK.exists(), reason="shared bank-marketing file not present")

DISCRETE_NUMERIC = [
    "emp.var.rate",
    "cons.price.idx",
    "cons.conf.idx",
    "nr.employed",
    "euribor3m",
    "pdays",
    "previous",
]


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return bank_marketing(n_rows=20_000, seed=0)


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return pd.read_csv(BANK)


@needs_real
def test_columns_order_and_dtypes_match_the_real_file(sample: pd.DataFrame, real: pd.DataFrame) -> None:
    assert list(sample.columns) == list(real.columns) == list(COLUMNS)
    assert sample.dtypes.astype(str).to_dict() == real.dtypes.astype(str).to_dict()


@needs_real
def test_values_are_within_the_real_files_values(sample: pd.DataFrame, real: pd.DataFrame) -> None:
    for column in sample.columns:
        if sample[column].dtype == "str":
            assert set(sample[column]) <= set(real[column]), column
            assert sample[column].nunique() >= min(real[column].nunique(), 2), column
        else:
            # the real file carries float noise such as 92.20100000000001
            assert sample[column].min() >= round(real[column].min(), 6), column
            assert sample[column].max() <= round(real[column].max(), 6), column
    for column in DISCRETE_NUMERIC:
        real_values = set(np.round(real[column], 3))
        assert set(np.round(sample[column], 3)) <= real_values, column


@needs_real
def test_economic_indicators_take_the_real_joint_values_per_month(
    sample: pd.DataFrame, real: pd.DataFrame
) -> None:
    columns = ["month", "emp.var.rate", "cons.price.idx", "cons.conf.idx", "nr.employed"]

    def combos(df: pd.DataFrame) -> set[tuple]:
        rounded = df[columns].round(3)
        return set(rounded.itertuples(index=False, name=None))

    mine, theirs = combos(sample), combos(real)
    assert mine <= theirs
    assert len(mine) >= 20  # the common periods all appear in 20k rows


@needs_real
def test_marginals_are_close_to_the_real_file(sample: pd.DataFrame, real: pd.DataFrame) -> None:
    for column in ("job", "marital", "education", "contact", "month", "poutcome"):
        mine = sample[column].value_counts(normalize=True)
        theirs = real[column].value_counts(normalize=True)
        assert (mine.reindex(theirs.index, fill_value=0) - theirs).abs().max() < 0.03, column
    for column in ("age", "campaign", "pdays", "nr.employed", "euribor3m"):
        assert sample[column].mean() == pytest.approx(real[column].mean(), rel=0.05), column
    assert sample["duration"].median() == pytest.approx(real["duration"].median(), rel=0.1)


def test_yes_rate(sample: pd.DataFrame) -> None:
    assert set(sample["y"]) == {"yes", "no"}
    assert 0.09 <= (sample["y"] == "yes").mean() <= 0.13


def test_previous_campaign_columns_are_consistent(sample: pd.DataFrame) -> None:
    none_before = sample["poutcome"] == "nonexistent"
    assert (sample.loc[none_before, "previous"] == 0).all()
    assert (sample.loc[none_before, "pdays"] == 999).all()
    assert (sample.loc[~none_before, "previous"] >= 1).all()
    assert (sample.loc[sample["poutcome"] == "success", "pdays"] < 999).all()


def test_deterministic_per_seed_and_different_across_seeds() -> None:
    a, b = bank_marketing(n_rows=500, seed=7), bank_marketing(n_rows=500, seed=7)
    pd.testing.assert_frame_equal(a, b)
    c = bank_marketing(n_rows=500, seed=8)
    assert not a.equals(c)
    assert (a["duration"] != c["duration"]).mean() > 0.9


def test_row_count_and_empty() -> None:
    assert len(bank_marketing(n_rows=123, seed=1)) == 123
    assert bank_marketing(n_rows=0).shape == (0, 21)
    with pytest.raises(ValueError, match="n_rows must be >= 0"):
        bank_marketing(n_rows=-1)


def test_signal_is_learnable() -> None:
    df = bank_marketing(n_rows=5000, seed=3)
    features = df.drop(columns="y")
    for column in features.columns:
        if features[column].dtype == "str":
            features[column] = features[column].astype("category")
    target = (df["y"] == "yes").astype(int)
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=100, random_state=0)
    # One OpenMP thread: on a busy 2-core machine, spinning worker threads are far slower.
    with threadpool_limits(limits=1):
        model.fit(features.iloc[:4000], target.iloc[:4000])
    scores = model.predict_proba(features.iloc[4000:])[:, 1]
    assert roc_auc_score(target.iloc[4000:], scores) > 0.8


def test_written_csv_reads_back_with_the_same_types(tmp_path: Path) -> None:
    path = write_bank_marketing_csv(tmp_path / "sub" / "bank.csv", n_rows=300, seed=2)
    table = read_table(path)
    assert table.column_names == list(COLUMNS)
    assert table.num_rows == 300
    types = {c.name: c.type for c in infer_schema(table)}
    assert types["y"] == "categorical" and types["age"] == "numeric"
    pd.testing.assert_frame_equal(pd.read_csv(path), bank_marketing(n_rows=300, seed=2))


def test_written_csv_keeps_float_columns_float_in_tiny_samples(tmp_path: Path) -> None:
    # nr.employed is 5191.0 in the most common period; a 1-row file must still say 5191.0.
    for seed in range(12):
        path = write_bank_marketing_csv(tmp_path / f"one{seed}.csv", n_rows=1, seed=seed)
        back = pd.read_csv(path)
        assert (back.dtypes == bank_marketing(n_rows=1, seed=seed).dtypes).all()
