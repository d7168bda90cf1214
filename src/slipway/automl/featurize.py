"""Automatic featurization: from raw DataFrame columns to a learner's input.

The featurizer is a scikit-learn ``ColumnTransformer`` built from standard
transformers, fitted inside each trial's Pipeline, so the saved model goes
from raw columns to predictions. Column types use the dataset vocabulary:
numeric, categorical, boolean, datetime, text.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
    TargetEncoder,
)
from sklearn.utils.validation import check_is_fitted

ONE_HOT_MAX_CARDINALITY = 30
MISSING = "__missing__"
_DATE_LIKE = re.compile(r"\d{1,4}[-/:.]\d{1,2}")

# Featurizer styles, by what the learner needs.
GBM = "gbm"  # gradient boosting: handles NaN and unscaled numbers
FOREST = "forest"  # sklearn trees: impute, no scaling
LINEAR = "linear"  # impute, scale, one-hot


class DatetimeFeatures(TransformerMixin, BaseEstimator):
    """Expand datetime columns (or date strings) into numeric parts.

    Parts: year, month, day, day of week, day of year, and hour/minute when
    the fitted data had a time of day. Unparseable values become NaN.

    Fitted attributes: ``feature_names_in_``, ``n_features_in_``,
    ``with_time_`` (bool per input column).
    """

    def fit(self, X: Any, y: Any = None) -> DatetimeFeatures:
        frame = _as_frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        with_time = []
        for col in frame.columns:
            parsed = _to_datetime(frame[col])
            valid = parsed.dropna()
            with_time.append(bool(len(valid)) and bool(((valid.dt.hour != 0) | (valid.dt.minute != 0)).any()))
        self.with_time_ = np.asarray(with_time, dtype=bool)
        return self

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "with_time_")
        frame = _as_frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(f"expected {self.n_features_in_} datetime columns, got {frame.shape[1]}")
        blocks = []
        for i, col in enumerate(frame.columns):
            parsed = _to_datetime(frame[col])
            parts = [
                parsed.dt.year,
                parsed.dt.month,
                parsed.dt.day,
                parsed.dt.day_of_week,
                parsed.dt.day_of_year,
            ]
            if self.with_time_[i]:
                parts += [parsed.dt.hour, parsed.dt.minute]
            blocks.append(np.column_stack([p.to_numpy(dtype=float, na_value=np.nan) for p in parts]))
        return np.hstack(blocks) if blocks else np.empty((len(frame), 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "with_time_")
        names = []
        for name, with_time in zip(self.feature_names_in_, self.with_time_, strict=True):
            parts = ["year", "month", "day", "dayofweek", "dayofyear"]
            parts += ["hour", "minute"] if with_time else []
            names += [f"{name}_{p}" for p in parts]
        return np.asarray(names, dtype=object)


def _as_frame(X: Any) -> pd.DataFrame:
    return X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X, dtype=object))


def _to_datetime(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return col.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return col
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = pd.to_datetime(col.astype(object), errors="coerce", format="mixed", utc=True)
    return out.dt.tz_localize(None)


def _flatten(X: Any) -> Any:
    """Turn an (n, 1) block into the 1-D list of strings TfidfVectorizer expects."""
    return np.asarray(X, dtype=object).reshape(-1)


@dataclass
class ColumnPlan:
    """How each raw input column is featurized."""

    types: dict[str, str]  # column -> numeric | categorical | boolean | datetime | text
    numeric: list[str] = field(default_factory=list)
    low_cardinality: list[str] = field(default_factory=list)  # one-hot
    high_cardinality: list[str] = field(default_factory=list)  # target-encoded
    datetime: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    mixed_types: list[str] = field(default_factory=list)  # categoricals needing str() first
    mode: str = "auto"  # auto | off

    @property
    def columns(self) -> list[str]:
        return list(self.types)

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out["encodings"] = (
            {
                "numeric": "median imputation (+ standard scaling for linear learners)",
                "low_cardinality": f"one-hot (<= {ONE_HOT_MAX_CARDINALITY} values, unseen ignored)",
                "high_cardinality": "target encoding (cross-fitted)",
                "datetime": "year, month, day, day of week, day of year (+ hour, minute)",
                "text": "TF-IDF (word 1-2 grams)",
            }
            if self.mode == "auto"
            else {"all": "numeric as-is, others ordinal-encoded"}
        )
        return out


def infer_column_types(X: pd.DataFrame, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Guess each column's type; ``overrides`` wins where given."""
    overrides = overrides or {}
    return {str(c): overrides.get(str(c)) or _infer_type(X[c]) for c in X.columns}


def _infer_type(col: pd.Series) -> str:
    dtype = col.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    values = col.dropna()
    if values.empty:
        return "categorical"
    sample = values.sample(min(len(values), 500), random_state=0).astype(str)
    if set(sample.str.lower().unique()) <= {"true", "false"}:
        return "boolean"
    if sample.str.match(_DATE_LIKE).mean() > 0.95 and _to_datetime(sample).notna().mean() > 0.95:
        return "datetime"
    n_unique = values.nunique()
    mean_words = sample.str.count(r"\s+").mean() + 1
    if n_unique > max(50, 0.5 * len(values)) and mean_words >= 3:
        return "text"
    return "categorical"


def plan_columns(X: pd.DataFrame, types: dict[str, str], mode: str = "auto") -> ColumnPlan:
    plan = ColumnPlan(types=dict(types), mode=mode)
    for name, kind in types.items():
        col = X[name]
        if (
            kind == "numeric"
            and pd.api.types.is_numeric_dtype(col.dtype)
            and not pd.api.types.is_bool_dtype(col.dtype)
        ):
            plan.numeric.append(name)
            continue
        if kind == "datetime" and mode == "auto":
            plan.datetime.append(name)
            continue
        if kind == "text" and mode == "auto":
            plan.text.append(name)
            continue
        if _mixed_types(col):
            plan.mixed_types.append(name)
        if col.nunique(dropna=True) <= ONE_HOT_MAX_CARDINALITY or mode == "off":
            plan.low_cardinality.append(name)
        else:
            plan.high_cardinality.append(name)
    return plan


def _mixed_types(col: pd.Series) -> bool:
    """Object columns holding several Python types (say str and int) need str() first."""
    if col.dtype != object:
        return False
    kinds = {type(v) for v in col.dropna().head(10_000)}
    return len(kinds) > 1


def _impute_categorical(plan: ColumnPlan, names: list[str]) -> list[tuple[str, list[str], bool]]:
    """Split categorical columns: uniform ones go straight to the encoder."""
    mixed = [n for n in names if n in plan.mixed_types]
    uniform = [n for n in names if n not in plan.mixed_types]
    groups = [("mixed", mixed, True), ("cat", uniform, False)]
    return [(tag, cols, is_mixed) for tag, cols, is_mixed in groups if cols]


def _categorical_steps(is_mixed: bool, encoder: Any) -> Any:
    """Encoders treat NaN as a category of its own, so uniform columns need no imputer."""
    if is_mixed:
        return make_pipeline(
            SimpleImputer(strategy="constant", fill_value=MISSING),
            FunctionTransformer(_to_str, feature_names_out="one-to-one"),
            encoder,
        )
    return encoder


def _to_str(X: Any) -> Any:
    return np.asarray(X, dtype=object).astype(str)


def build_featurizer(plan: ColumnPlan, style: str, task: str) -> ColumnTransformer:
    """The ColumnTransformer for one learner style (``gbm``, ``forest``, ``linear``)."""
    if plan.mode == "off":
        return _build_off(plan, style)
    steps: list[tuple[str, Any, Any]] = []
    if plan.numeric:
        num: Any = "passthrough" if style == GBM else SimpleImputer(strategy="median")
        if style == LINEAR:
            num = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
        steps.append(("numeric", num, plan.numeric))
    for tag, cols, is_str in _impute_categorical(plan, plan.low_cardinality):
        enc = OneHotEncoder(
            handle_unknown="ignore",
            sparse_output=style == LINEAR,
            dtype=np.float32 if style != LINEAR else np.float64,
        )
        steps.append((f"onehot_{tag}", _categorical_steps(is_str, enc), cols))
    for tag, cols, is_str in _impute_categorical(plan, plan.high_cardinality):
        regression = task == "regression"
        splitter = (KFold if regression else StratifiedKFold)(5, shuffle=True, random_state=0)
        enc = TargetEncoder(target_type="continuous" if regression else "auto", cv=splitter)
        pipe = _categorical_steps(is_str, enc)
        if style == LINEAR:
            pipe = make_pipeline(pipe, StandardScaler())
        steps.append((f"target_{tag}", pipe, cols))
    if plan.datetime:
        dt: Any = DatetimeFeatures()
        if style != GBM:
            dt = make_pipeline(DatetimeFeatures(), SimpleImputer(strategy="median", keep_empty_features=True))
        if style == LINEAR:
            dt.steps.append(("scale", StandardScaler()))
        steps.append(("datetime", dt, plan.datetime))
    for i, name in enumerate(plan.text):
        tfidf = TfidfVectorizer(max_features=5000, ngram_range=(1, 2), sublinear_tf=True, dtype=np.float32)
        text = make_pipeline(
            SimpleImputer(strategy="constant", fill_value=""), FunctionTransformer(_flatten), tfidf
        )
        steps.append((f"text_{i}", text, [name]))
    return ColumnTransformer(
        steps, remainder="drop", sparse_threshold=0.3 if (plan.text or style == LINEAR) else 0.0
    )


def _build_off(plan: ColumnPlan, style: str) -> ColumnTransformer:
    steps: list[tuple[str, Any, Any]] = []
    if plan.numeric:
        num: Any = "passthrough" if style == GBM else SimpleImputer(strategy="median")
        steps.append(("numeric", num, plan.numeric))
    others = plan.low_cardinality + plan.high_cardinality
    for tag, cols, is_str in _impute_categorical(plan, others):
        enc = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1)
        steps.append((f"ordinal_{tag}", _categorical_steps(is_str, enc), cols))
    return ColumnTransformer(steps, remainder="drop", sparse_threshold=0.0)


def featurizer_name(plan: ColumnPlan, style: str) -> str:
    """The featurizer half of a trial's algorithm name, e.g. ``MaxAbsScaler``."""
    if plan.mode == "off":
        return "OrdinalEncoder" if (plan.low_cardinality or plan.high_cardinality) else "Passthrough"
    if style == LINEAR:
        return "StandardScaler"
    if style == FOREST:
        return "SimpleImputer"
    return "OneHotEncoder" if plan.low_cardinality else "Passthrough"
