"""Data guardrails: checks on the raw training frame before the search starts.

``check_target`` refuses a target no model can learn (raising ``InvalidInput``);
``run_guardrails`` reports what the data looks like and what featurization
will do about it. Each guardrail has a stable snake_case name and a status:

* ``passed``  -- nothing to report;
* ``done``    -- a problem was found and handled (e.g. a column dropped);
* ``alerted`` -- a problem the user should look at; nothing was changed.

``GuardrailReport.drop_columns`` lists the columns the featurizer must drop.
Rows with a null target are left out of every check and counted in
``rows_dropped``; the engine drops them before training.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from slipway.automl.featurize import infer_column_types
from slipway.automl.settings import COLUMN_TYPES
from slipway.core.errors import InvalidInput

TASKS = ("classification", "regression")
PASSED, DONE, ALERTED = "passed", "done", "alerted"

MIN_ROWS_PER_CLASS = 10  # fewer makes cross-validation folds without the class
IMBALANCE_RATIO = 0.2  # minority / majority class size
IMBALANCE_SHARE = 0.1  # minority share of rows, binary tasks
HIGH_CARDINALITY = 30  # distinct values; the featurizer one-hot encodes up to this many
NEARLY_UNIQUE = 0.9  # distinct / non-null values above which a categorical is dropped
MIN_ROWS_FOR_UNIQUENESS = 30  # in tinier frames every column looks unique
LEAKAGE_SCORE = 0.99  # univariate holdout score that means "nearly determines the target"
LEAKAGE_MAX_ROWS = 50_000
LEAKAGE_BINS = 64
_ID_NAME = re.compile(r"(^|[\W_])(id|ids|uuid|guid|key|index|row|rownum)$", re.IGNORECASE)


@dataclass
class Guardrail:
    name: str
    status: str  # passed | done | alerted
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GuardrailReport:
    guardrails: list[Guardrail]
    drop_columns: list[str]
    rows: int  # rows checked, after dropping those with a null target
    rows_dropped: int  # rows whose target is null
    column_types: dict[str, str]

    @property
    def alerted(self) -> list[Guardrail]:
        return [g for g in self.guardrails if g.status == ALERTED]

    def get(self, name: str) -> Guardrail:
        for guardrail in self.guardrails:
            if guardrail.name == name:
                return guardrail
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "guardrails": [g.to_dict() for g in self.guardrails],
            "drop_columns": list(self.drop_columns),
            "rows": self.rows,
            "rows_dropped": self.rows_dropped,
            "column_types": dict(self.column_types),
        }


# --------------------------------------------------------------------------- target


def check_target(df: pd.DataFrame, target: str, task: str) -> None:
    """Raise ``InvalidInput`` when no model could learn ``target`` from ``df``."""
    if task not in TASKS:
        raise InvalidInput(f"Unknown task {task!r}.", hint="Use 'classification' or 'regression'.")
    if target not in df.columns:
        raise InvalidInput(
            f"Target column {target!r} is not in the data.",
            hint=f"Available columns: {', '.join(map(str, df.columns))}.",
        )
    y = df[target].dropna()
    if y.empty:
        raise InvalidInput(f"Target column {target!r} has only missing values.")
    if y.nunique() < 2:
        raise InvalidInput(
            f"Target column {target!r} is constant ({y.iloc[0]!r}); there is nothing to learn.",
            hint="Pick another target column, or add rows with other values.",
        )
    if task == "regression":
        if not pd.api.types.is_numeric_dtype(y.dtype) or pd.api.types.is_bool_dtype(y.dtype):
            raise InvalidInput(
                f"Target column {target!r} is not numeric ({y.dtype}); regression needs numbers.",
                hint="Use --task classification for labels, or convert the column to numbers.",
            )
        if not np.isfinite(y.to_numpy(dtype=float)).all():
            raise InvalidInput(f"Target column {target!r} contains infinite values.")
        return
    counts = y.value_counts()
    lonely = [_label(v) for v in counts[counts < 2].index]
    if lonely:
        shown = f"{lonely[:10]}" + (f" and {len(lonely) - 10} more" if len(lonely) > 10 else "")
        hint = "Remove those rows, merge the class with another, or add more examples."
        if len(lonely) > 10 and pd.api.types.is_numeric_dtype(y.dtype):
            hint = "The target looks like a quantity: use --task regression."
        raise InvalidInput(
            f"Class(es) {shown} of target {target!r} have a single row; a model cannot learn "
            "or be validated on a class seen once.",
            hint=hint,
        )


def _label(value: Any) -> Any:
    """A class label as a JSON-friendly value."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------- column types


def _is_integral(col: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(col.dtype):
        return False
    if pd.api.types.is_integer_dtype(col.dtype):
        return True
    if pd.api.types.is_float_dtype(col.dtype):
        values = col.dropna().to_numpy(dtype=float)
        return bool(len(values)) and bool(np.all(values == np.round(values)))
    return False


# --------------------------------------------------------------------------- checks


def _missing_target(rows_dropped: int, target: str) -> Guardrail:
    if not rows_dropped:
        return Guardrail("missing_target", PASSED, "Every row has a target value.")
    return Guardrail(
        "missing_target",
        DONE,
        f"Dropped {rows_dropped} row(s) whose target {target!r} is missing.",
        {"rows_dropped": rows_dropped},
    )


def _class_imbalance(counts: pd.Series, rows: int) -> Guardrail:
    details = {
        "class_counts": {str(k): int(v) for k, v in counts.items()},
        "minority_class": _label(counts.index[-1]),
        "majority_class": _label(counts.index[0]),
        "ratio": float(counts.iloc[-1] / counts.iloc[0]),
    }
    binary_share = len(counts) == 2 and counts.iloc[-1] / rows < IMBALANCE_SHARE
    if details["ratio"] >= IMBALANCE_RATIO and not binary_share:
        return Guardrail("class_imbalance", PASSED, "Classes are reasonably balanced.", details)
    return Guardrail(
        "class_imbalance",
        ALERTED,
        f"Class {details['minority_class']!r} has {int(counts.iloc[-1])} rows against "
        f"{int(counts.iloc[0])} for {details['majority_class']!r}. Accuracy will look good "
        "even for a model that ignores the minority; prefer AUC_weighted, "
        "balanced_accuracy or norm_macro_recall as the primary metric.",
        details,
    )


def _too_few_rows_per_class(counts: pd.Series) -> Guardrail:
    small = counts[counts < MIN_ROWS_PER_CLASS]
    details = {
        "min_rows_per_class": MIN_ROWS_PER_CLASS,
        "classes": {str(k): int(v) for k, v in small.items()},
    }
    if small.empty:
        return Guardrail(
            "too_few_rows_per_class",
            PASSED,
            f"Every class has at least {MIN_ROWS_PER_CLASS} rows.",
            details,
        )
    return Guardrail(
        "too_few_rows_per_class",
        ALERTED,
        f"Class(es) {[_label(v) for v in small.index]} have fewer than {MIN_ROWS_PER_CLASS} "
        "rows; some validation folds will miss them and their metrics will be noisy.",
        details,
    )


def _missing_values(features: pd.DataFrame, dropped: set[str]) -> Guardrail:
    counts = features.isna().sum()
    counts = counts[(counts > 0) & ~counts.index.isin(list(dropped))]
    if counts.empty:
        return Guardrail("missing_values", PASSED, "No missing values in the features.")
    rows = len(features)
    return Guardrail(
        "missing_values",
        DONE,
        f"{len(counts)} column(s) have missing values; they are imputed "
        "(median for numbers, a 'missing' category for the others).",
        {
            "columns": {
                str(c): {"missing": int(n), "fraction": round(float(n) / rows, 6)} for c, n in counts.items()
            }
        },
    )


def _constant_columns(features: pd.DataFrame) -> tuple[Guardrail, list[str]]:
    # A column whose only variation is missingness is kept: missingness can carry signal.
    constant = [str(c) for c in features.columns if features[c].nunique(dropna=False) <= 1]
    if not constant:
        return Guardrail("constant_columns", PASSED, "No constant columns."), []
    return (
        Guardrail(
            "constant_columns",
            DONE,
            f"Dropped {len(constant)} constant column(s): {', '.join(constant)}.",
            {"columns": constant},
        ),
        constant,
    )


def _looks_like_id(col: pd.Series, name: str, kind: str, distinct: int) -> bool:
    rows = len(col)
    if rows < MIN_ROWS_FOR_UNIQUENESS or distinct < rows or col.isna().any():
        return False
    if _is_integral(col):
        values = col.to_numpy(dtype=float)
        dense = values.max() - values.min() + 1 <= 2 * rows  # row numbers, sequential keys
        return dense or bool(_ID_NAME.search(name))
    if kind not in ("categorical", "text") or pd.api.types.is_numeric_dtype(col.dtype):
        return False
    return kind == "categorical" or col.astype(str).str.count(r"\s+").mean() < 1


def _id_like_columns(
    features: pd.DataFrame, types: dict[str, str], distinct: dict[str, int]
) -> tuple[Guardrail, list[str]]:
    ids = [
        name
        for name in features.columns
        if _looks_like_id(features[name], str(name), types[name], distinct[name])
    ]
    if not ids:
        return Guardrail("id_like_columns", PASSED, "No identifier-like columns."), []
    return (
        Guardrail(
            "id_like_columns",
            DONE,
            f"Dropped {len(ids)} column(s) with a distinct value on every row, like an "
            f"identifier: {', '.join(ids)}. An identifier cannot generalize to new rows.",
            {"columns": ids},
        ),
        ids,
    )


def _high_cardinality(
    features: pd.DataFrame, types: dict[str, str], distinct: dict[str, int], skip: set[str]
) -> tuple[Guardrail, list[str]]:
    encoded: dict[str, int] = {}
    dropped: dict[str, int] = {}
    text: dict[str, int] = {}
    for name in features.columns:
        kind, count = types[name], distinct[name]
        if name in skip or kind not in ("categorical", "text") or count <= HIGH_CARDINALITY:
            continue
        non_null = int(features[name].notna().sum())
        if kind == "text":
            text[name] = count
        elif non_null >= MIN_ROWS_FOR_UNIQUENESS and count >= NEARLY_UNIQUE * non_null:
            dropped[name] = count
        else:
            encoded[name] = count
    details = {"target_encoded": encoded, "dropped": dropped, "text": text}
    if not (encoded or dropped or text):
        return Guardrail(
            "high_cardinality_categoricals", PASSED, "No high-cardinality categorical columns.", details
        ), []
    parts = []
    if encoded:
        parts.append(f"target-encoded {', '.join(encoded)}")
    if text:
        parts.append(f"featurized as text (TF-IDF) {', '.join(text)}")
    if dropped:
        parts.append(f"dropped nearly unique {', '.join(dropped)}")
    message = f"Columns with more than {HIGH_CARDINALITY} distinct values: {'; '.join(parts)}."
    return Guardrail("high_cardinality_categoricals", DONE, message, details), list(dropped)


def _duplicate_rows(features: pd.DataFrame, y: pd.Series) -> Guardrail:
    rows = pd.DataFrame(
        {"features": pd.util.hash_pandas_object(features, index=False).to_numpy(), "target": y.to_numpy()}
    )
    duplicates = int(rows.duplicated().sum())
    targets_per_group = rows.groupby("features")["target"].transform("nunique")
    conflicting = int((targets_per_group > 1).sum())
    details = {"duplicate_rows": duplicates, "conflicting_label_rows": conflicting}
    if not duplicates and not conflicting:
        return Guardrail("duplicate_rows", PASSED, "No duplicate rows.", details)
    message = f"{duplicates} row(s) repeat an earlier row exactly"
    if conflicting:
        message += f"; {conflicting} row(s) share identical features but differ in target"
    message += (
        ". Duplicates can leak between training and validation folds and inflate scores; "
        "remove them if they are not real repeated observations."
    )
    return Guardrail("duplicate_rows", ALERTED, message, details)


# --------------------------------------------------------------------------- target leakage


def _as_numbers(col: pd.Series, kind: str) -> np.ndarray | None:
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return (col - col.min()).dt.total_seconds().to_numpy(dtype=float)
    if kind == "numeric" and pd.api.types.is_numeric_dtype(col.dtype):
        return col.to_numpy(dtype=float, na_value=np.nan)
    return None


def _codes(col: pd.Series, numbers: np.ndarray | None) -> np.ndarray:
    """Small integer codes: a category per value, or one per quantile bin of a number."""
    if numbers is None or col.nunique() <= LEAKAGE_BINS:
        return np.asarray(pd.factorize(col, use_na_sentinel=False)[0])
    finite = np.isfinite(numbers)
    cuts = np.linspace(0, 1, LEAKAGE_BINS + 1)[1:-1]
    edges = np.unique(np.quantile(numbers[finite], cuts))
    codes = np.searchsorted(edges, numbers, side="right")
    codes[~finite] = len(edges) + 1
    return codes


def _holdout_balanced_accuracy(codes: np.ndarray, y: np.ndarray, k: int, half: int) -> float:
    """Learn value -> majority class on the first half, score it on the second."""
    m = int(codes.max()) + 1
    table = np.bincount(codes[:half] * k + y[:half], minlength=m * k).reshape(m, k)
    fallback = np.bincount(y[:half], minlength=k).argmax()
    predict = np.where(table.sum(axis=1) > 0, table.argmax(axis=1), fallback)
    truth, guess = y[half:], predict[codes[half:]]
    support = np.bincount(truth, minlength=k)
    hits = np.bincount(truth[guess == truth], minlength=k)
    present = support > 0
    return float((hits[present] / support[present]).mean())


def _holdout_r2(codes: np.ndarray, y: np.ndarray, half: int) -> float:
    """Learn value -> mean target on the first half, R^2 on the second."""
    m = int(codes.max()) + 1
    counts = np.bincount(codes[:half], minlength=m)
    sums = np.bincount(codes[:half], weights=y[:half], minlength=m)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), y[:half].mean())
    truth = y[half:]
    total = float(np.sum((truth - truth.mean()) ** 2))
    return 1.0 - float(np.sum((truth - means[codes[half:]]) ** 2)) / total if total > 0 else 0.0


def _rank_auc(values: np.ndarray, positive: np.ndarray) -> float:
    """Two-sided ROC AUC of a number against a binary target (Mann-Whitney)."""
    finite = np.isfinite(values)
    values, positive = values[finite], positive[finite]
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if not n_pos or not n_neg:
        return 0.5
    ranks = rankdata(values)
    auc = (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return float(max(auc, 1 - auc))


def _abs_spearman(values: np.ndarray, y: np.ndarray) -> float:
    finite = np.isfinite(values)
    if finite.sum() < 3:
        return 0.0
    a, b = rankdata(values[finite]), rankdata(y[finite])
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(abs(np.corrcoef(a, b)[0, 1]))


def _leakage_scores(
    features: pd.DataFrame, y: pd.Series, task: str, types: dict[str, str]
) -> dict[str, float]:
    order = np.random.default_rng(0).permutation(len(y))[:LEAKAGE_MAX_ROWS]
    features, y = features.iloc[order], y.iloc[order]
    half = len(y) // 2
    if task == "classification":
        y_codes = np.asarray(pd.factorize(y)[0])
        k = int(y_codes.max()) + 1
    else:
        y_values = y.to_numpy(dtype=float)
    scores: dict[str, float] = {}
    for name in features.columns:
        if types[name] == "text":
            continue
        col = features[name]
        numbers = _as_numbers(col, types[name])
        codes = _codes(col, numbers)
        if task == "classification":
            score = _holdout_balanced_accuracy(codes, y_codes, k, half)
            if numbers is not None and k == 2:
                score = max(score, _rank_auc(numbers, y_codes == 1))
        else:
            score = _holdout_r2(codes, y_values, half)
            if numbers is not None:
                score = max(score, _abs_spearman(numbers, y_values))
        scores[name] = round(score, 6)
    return scores


def _target_leakage(features: pd.DataFrame, y: pd.Series, task: str, types: dict[str, str]) -> Guardrail:
    if len(y) < 2 * MIN_ROWS_FOR_UNIQUENESS:
        return Guardrail(
            "target_leakage", PASSED, "Too few rows to test for target leakage.", {"checked": False}
        )
    scores = _leakage_scores(features, y, task, types)
    strongest = dict(sorted(scores.items(), key=lambda kv: -kv[1])[:5])
    leaks = [name for name, score in strongest.items() if score >= LEAKAGE_SCORE]
    measure = (
        "holdout balanced accuracy of a per-value mapping (or two-sided AUC for numbers)"
        if task == "classification"
        else "holdout R^2 of a per-value mean (or |Spearman| for numbers)"
    )
    details = {
        "checked": True,
        "measure": measure,
        "threshold": LEAKAGE_SCORE,
        "columns": leaks,
        "strongest": strongest,
    }
    if not leaks:
        return Guardrail("target_leakage", PASSED, "No single column determines the target.", details)
    return Guardrail(
        "target_leakage",
        ALERTED,
        f"Column(s) {', '.join(leaks)} alone nearly determine the target. If they are only "
        "known after the outcome (or are a copy of it), remove them: the model will look "
        "perfect in validation and fail in production. They were kept.",
        details,
    )


# --------------------------------------------------------------------------- entry point


def _column_types(features: pd.DataFrame, given: dict[str, str] | None) -> dict[str, str]:
    given = given or {}
    for name, kind in given.items():
        if kind not in COLUMN_TYPES:
            raise InvalidInput(
                f"Unknown type {kind!r} for column {name!r}.",
                hint=f"Use one of: {', '.join(COLUMN_TYPES)}.",
            )
    # The featurizer's own inference, so the report and the model agree on every column.
    return infer_column_types(features, given)


def run_guardrails(
    df: pd.DataFrame, target: str, task: str, *, column_types: dict[str, str] | None = None
) -> GuardrailReport:
    """Check the raw training frame; see the module docstring for the statuses.

    >>> report = run_guardrails(df, "y", "classification")
    >>> report.drop_columns, [g.name for g in report.alerted]
    """
    check_target(df, target, task)
    has_target = df[target].notna().to_numpy()
    data = df.loc[has_target]
    y = data[target]
    features = data.drop(columns=[target])
    features.columns = [str(c) for c in features.columns]
    if features.shape[1] == 0:
        raise InvalidInput(
            "The data has no columns besides the target.", hint="Add feature columns to learn from."
        )
    types = _column_types(features, column_types)
    distinct = {str(name): int(n) for name, n in features.nunique().items()}
    guardrails = [_missing_target(int((~has_target).sum()), target)]
    if task == "classification":
        counts = y.value_counts()
        guardrails += [_class_imbalance(counts, len(y)), _too_few_rows_per_class(counts)]
    constant_check, constant = _constant_columns(features)
    ids_check, ids = _id_like_columns(features.drop(columns=constant), types, distinct)
    cardinality_check, unique = _high_cardinality(features, types, distinct, set(constant + ids))
    drop = constant + ids + unique
    kept = features.drop(columns=drop)
    guardrails += [
        _missing_values(features, set(drop)),
        constant_check,
        ids_check,
        cardinality_check,
        _duplicate_rows(features, y),
        _target_leakage(kept, y, task, types),
    ]
    return GuardrailReport(
        guardrails=guardrails,
        drop_columns=drop,
        rows=len(y),
        rows_dropped=int((~has_target).sum()),
        column_types=types,
    )
