"""Fitted scikit-learn featurization compiled into plain numpy/dict operations.

Each supported transformer becomes a :class:`Step` that repeats exactly the
arithmetic scikit-learn does on the dense path (so results are bitwise
equal): imputer fill values, category -> column dicts for one-hot, ordinal
and target encoding, scaler arrays. Anything else raises
:class:`NotCompilable` and the server keeps the plain pipeline.

Values flow as either a float64 matrix ("num", shape (n, k)) or a list of k
Python lists ("obj", missing values are ``math.nan``, as pandas gives them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

State = Any  # np.ndarray (num) or list[list[Any]] (obj)
SMALL = 16  # up to this many rows, per-value Python loops beat numpy call overhead


class NotCompilable(Exception):
    """This component has no fast equivalent; the reason is the message."""


class Step:
    """A compiled transformer: ``fn(state, n_rows)`` -> state of ``out_kind`` and ``width``.

    ``sparse_out`` says whether scikit-learn's own output would be a sparse
    matrix, which changes the arithmetic of later scalers and how XGBoost
    reads zeros."""

    def __init__(self, name: str, fn: Callable[[State, int], State], out_kind: str,
                 width: int, sparse_out: bool = False) -> None:
        self.name = name
        self.fn = fn
        self.out_kind = out_kind
        self.width = width
        self.sparse_out = sparse_out


NAN = math.nan  # the one object that stands for a missing value in "obj" state


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _category_table(categories: np.ndarray) -> tuple[dict[Any, int], int | None]:
    """value -> position; a missing category is keyed by the NAN object itself, which dict
    lookups find by identity."""
    table: dict[Any, int] = {}
    missing: int | None = None
    for i, c in enumerate(categories.tolist()):
        if _is_missing(c):
            missing = i
            table[NAN] = i
        else:
            table[c] = i
    return table, missing


def _as_obj(state: State, kind: str) -> list[list[Any]]:
    if kind == "obj":
        return list(state)
    return [nan_to_singleton(state[:, j].tolist()) for j in range(state.shape[1])]


def nan_to_singleton(values: list[Any]) -> list[Any]:
    return [NAN if v != v else v for v in values]


def _as_num(state: State, kind: str) -> np.ndarray:
    if kind == "num":
        return np.asarray(state)
    try:
        return np.array(state, dtype=np.float64).T.copy()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"non-numeric value for a numeric transformer: {exc}") from None


def compile_step(est: Any, kind: str, width: int, sparse: bool = False) -> Step:
    """One fitted transformer, given the kind and width of its input."""
    if isinstance(est, str):
        if est == "passthrough":
            if kind != "num":
                raise NotCompilable("passthrough of non-numeric columns")
            return Step("passthrough", lambda s, n: s, "num", width)
        raise NotCompilable(f"transformer {est!r}")
    name = type(est).__name__
    compiler = _COMPILERS.get(name)
    if compiler is None:
        raise NotCompilable(f"{name} has no fast equivalent")
    if getattr(est, "_sklearn_output_config", {}).get("transform") not in (None, "default"):
        raise NotCompilable(f"{name} is set to output pandas")
    step = compiler(est, kind, width, sparse)
    if name not in ("OneHotEncoder", "TfidfVectorizer", "CountVectorizer", "Pipeline"):
        step.sparse_out = sparse
    return step


def _simple_imputer(est: Any, kind: str, width: int, sparse: bool) -> Step:
    if sparse:
        raise NotCompilable("SimpleImputer on sparse input")
    mv = est.missing_values
    if not (isinstance(mv, float) and math.isnan(mv)) and mv is not None:
        raise NotCompilable("SimpleImputer with missing_values other than NaN")
    if est.add_indicator:
        raise NotCompilable("SimpleImputer(add_indicator=True)")
    stats = np.array(est.statistics_, copy=True)  # a snapshot: compiled at load time
    if len(stats) != width:
        raise NotCompilable("SimpleImputer dropped empty columns")
    if kind == "num" and stats.dtype.kind == "f":
        if np.isnan(stats).any():
            raise NotCompilable("SimpleImputer with all-missing training columns")

        def impute_num(m: np.ndarray, n: int) -> np.ndarray:
            mask = np.isnan(m)
            if mask.any():
                m = np.where(mask, stats, m)
            return m

        return Step("SimpleImputer", impute_num, "num", width)
    fills = stats.tolist()

    def impute_obj(cols: State, n: int) -> list[list[Any]]:
        cols = _as_obj(cols, kind)
        out = []
        for col, fill in zip(cols, fills, strict=True):
            if NAN in col:
                col = [fill if v is NAN else v for v in col]
            out.append(col)
        return out

    return Step("SimpleImputer", impute_obj, "obj", width)


def _check_encoder(est: Any) -> None:
    if getattr(est, "_infrequent_enabled", False):
        raise NotCompilable(f"{type(est).__name__} with infrequent categories")


def _one_hot(est: Any, kind: str, width: int, sparse: bool) -> Step:
    _check_encoder(est)
    if est.drop_idx_ is not None:
        raise NotCompilable("OneHotEncoder(drop=...)")
    if est.handle_unknown not in ("ignore", "infrequent_if_exist"):
        raise NotCompilable("OneHotEncoder(handle_unknown='error')")
    tables = []
    offset = 0
    for cats in est.categories_:
        table, missing = _category_table(cats)
        tables.append(({k: v + offset for k, v in table.items()},
                       None if missing is None else missing + offset))
        offset += len(cats)
    total = offset
    dtype = np.dtype(est.dtype)

    tables_only = [t for t, _ in tables]

    def one_hot(state: State, n: int) -> np.ndarray:
        cols = _as_obj(state, kind)
        out = np.zeros((n, total), dtype=dtype)
        if n <= SMALL:
            hits = []
            for col, table in zip(cols, tables_only, strict=True):
                for i, v in enumerate(col):
                    j = table.get(v)
                    if j is not None:
                        hits.append(i * total + j)
            out.ravel()[hits] = 1
            return out
        rows = np.arange(n)
        for col, table in zip(cols, tables_only, strict=True):
            idx = np.fromiter((table.get(v, -1) for v in col), dtype=np.int64, count=n)
            known = idx >= 0
            out[rows[known], idx[known]] = 1
        return out

    return Step("OneHotEncoder", one_hot, "num", total, sparse_out=bool(est.sparse_output))


def _ordinal(est: Any, kind: str, width: int, sparse: bool) -> Step:
    _check_encoder(est)
    unknown = float(est.unknown_value) if est.handle_unknown == "use_encoded_value" else None
    missing_value = float(est.encoded_missing_value)
    tables = [_category_table(cats) for cats in est.categories_]
    dtype = np.dtype(est.dtype)

    def ordinal(state: State, n: int) -> np.ndarray:
        cols = _as_obj(state, kind)
        out = np.empty((n, len(cols)), dtype=np.float64)
        for j, (col, (table, missing)) in enumerate(zip(cols, tables, strict=True)):
            codes = []
            for v in col:
                code = table.get(v)
                if code is not None and v is not NAN:
                    codes.append(float(code))
                elif missing is not None and v is NAN:
                    codes.append(missing_value)
                elif unknown is not None:
                    codes.append(unknown)
                else:
                    raise ValueError(f"unknown category {v!r}")
            out[:, j] = codes
        return out.astype(dtype, copy=False)

    return Step("OrdinalEncoder", ordinal, "num", len(tables))


def _target_encoder(est: Any, kind: str, width: int, sparse: bool) -> Step:
    if est.target_type_ not in ("binary", "continuous"):
        raise NotCompilable(f"TargetEncoder for a {est.target_type_} target")
    _check_encoder(est)
    tables = [_category_table(cats) for cats in est.categories_]
    encodings = [np.asarray(e, dtype=np.float64).tolist() for e in est.encodings_]
    mean = float(est.target_mean_)

    def target(state: State, n: int) -> np.ndarray:
        cols = _as_obj(state, kind)
        out = np.empty((n, len(cols)), dtype=np.float64)
        for j, (col, (table, _missing), enc) in enumerate(zip(cols, tables, encodings,
                                                             strict=True)):
            values = []
            for v in col:
                code = table.get(v)
                values.append(mean if code is None else enc[code])
            out[:, j] = values
        return out

    return Step("TargetEncoder", target, "num", len(tables))


def _standard_scaler(est: Any, kind: str, width: int, sparse: bool) -> Step:
    mean = np.array(est.mean_, copy=True) if est.with_mean else None
    scale = np.array(est.scale_, copy=True) if est.with_std else None
    if sparse and mean is not None:
        raise NotCompilable("StandardScaler(with_mean=True) on sparse input")
    recip = 1.0 / scale if (sparse and scale is not None) else None

    def standard(state: State, n: int) -> np.ndarray:
        m = _as_num(state, kind).copy()
        if mean is not None:
            m -= mean
        if recip is not None:
            m *= recip  # scikit-learn scales sparse input by the reciprocal
        elif scale is not None:
            m /= scale
        return m

    return Step("StandardScaler", standard, "num", width)


def _max_abs_scaler(est: Any, kind: str, width: int, sparse: bool) -> Step:
    scale = np.array(est.scale_, copy=True)
    recip = 1.0 / scale

    def max_abs(state: State, n: int) -> np.ndarray:
        m = _as_num(state, kind).copy()
        if sparse:
            m *= recip
        else:
            m /= scale
        return m

    return Step("MaxAbsScaler", max_abs, "num", width)


def _min_max_scaler(est: Any, kind: str, width: int, sparse: bool) -> Step:
    scale, low = np.array(est.scale_, copy=True), np.array(est.min_, copy=True)
    clip = est.clip
    lo, hi = est.feature_range

    def min_max(state: State, n: int) -> np.ndarray:
        m = _as_num(state, kind).copy()
        m *= scale
        m += low
        if clip:
            np.clip(m, lo, hi, out=m)
        return m

    return Step("MinMaxScaler", min_max, "num", width)


def _text_vectorizer(est: Any, kind: str, width: int, sparse: bool) -> Step:
    """Tf-idf/count vectorizers take a list of strings: call the fitted object itself."""
    if width != 1 or kind != "obj":
        raise NotCompilable(f"{type(est).__name__} on {width} columns")
    n_out = len(est.vocabulary_) if hasattr(est, "vocabulary_") else est.n_features

    def vectorize(state: State, n: int) -> np.ndarray:
        docs = state[0]
        result = est.transform(docs)
        return result.toarray() if hasattr(result, "toarray") else np.asarray(result)

    return Step(type(est).__name__, vectorize, "num", n_out, sparse_out=True)


def _function_transformer(est: Any, kind: str, width: int, sparse: bool) -> Step:
    """Only the identity (``func=None``), which is what ``remainder="passthrough"`` fits."""
    if est.func is not None or kind != "num":
        raise NotCompilable("FunctionTransformer has no fast equivalent")
    return Step("passthrough", lambda s, n: s, "num", width)


def _pipeline(est: Any, kind: str, width: int, sparse: bool) -> Step:
    steps: list[Step] = []
    for _, e in est.steps:
        if e is None or e == "passthrough":
            continue
        steps.append(compile_step(e, steps[-1].out_kind if steps else kind,
                                  steps[-1].width if steps else width,
                                  steps[-1].sparse_out if steps else sparse))
    if not steps:
        raise NotCompilable("empty Pipeline")

    def run(state: State, n: int) -> State:
        for step in steps:
            state = step.fn(state, n)
        return state

    return Step("Pipeline(" + ", ".join(s.name for s in steps) + ")", run, steps[-1].out_kind,
                steps[-1].width, sparse_out=steps[-1].sparse_out)


_COMPILERS: dict[str, Callable[[Any, str, int, bool], Step]] = {
    "SimpleImputer": _simple_imputer,
    "OneHotEncoder": _one_hot,
    "OrdinalEncoder": _ordinal,
    "TargetEncoder": _target_encoder,
    "StandardScaler": _standard_scaler,
    "MaxAbsScaler": _max_abs_scaler,
    "MinMaxScaler": _min_max_scaler,
    "TfidfVectorizer": _text_vectorizer,
    "CountVectorizer": _text_vectorizer,
    "FunctionTransformer": _function_transformer,
    "Pipeline": _pipeline,
}
