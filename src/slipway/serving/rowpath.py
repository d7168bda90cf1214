"""Small requests straight from JSON records to the learner's input matrix.

For a handful of rows, numpy's per-call overhead costs more than the
arithmetic, so this path validates and featurizes each record in one pass of
plain Python: per input column, one type check, then scalar versions of the
same operations :mod:`slipway.serving.featurize` runs on arrays (IEEE double
arithmetic, so the same bits). It only accepts the clean case; anything
else (a missing column, a value of another type, a null where the model
refuses one) returns None and the request takes the general path, which
coerces or answers the precise error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from slipway.serving.featurize import NAN, NotCompilable
from slipway.serving.validation import InputSchema

INF = math.inf
RowFeaturizer = Callable[[list[Any]], "np.ndarray | None"]


def compile_rows(pipeline: Any, schema: InputSchema) -> RowFeaturizer:
    """Raise NotCompilable unless the pipeline is ColumnTransformer + learner with
    column-wise steps this module knows."""
    steps = [e for _, e in pipeline.steps[:-1] if e is not None and e != "passthrough"]
    if len(steps) != 1 or type(steps[0]).__name__ != "ColumnTransformer":
        raise NotCompilable("row path needs exactly one ColumnTransformer before the learner")
    ct = steps[0]
    names_in = ct.feature_names_in_
    indices = ct._transformer_to_input_indices
    programs: dict[str, list[Op]] = {}
    width = 0
    for name, trans, columns in ct.transformers_:
        out = ct.output_indices_[name]
        width = max(width, out.stop)
        if (isinstance(trans, str) and trans == "drop") or out.stop == out.start:
            continue
        if isinstance(columns, str):
            raise NotCompilable("1-D column selections are not row-compiled")
        cols = [str(names_in[i]) for i in indices[name]]
        chain = _chain(trans)
        for j, col in enumerate(cols):
            programs.setdefault(col, []).append(_column_program(chain, j, out.start, schema, col))
    template = [0.0] * width
    plan = []
    for col in schema.names:
        kind = schema.kinds[col]
        if kind not in ("numeric", "categorical", "text"):
            raise NotCompilable(f"row path does not read {kind} columns")
        plan.append((col, kind == "numeric", schema.allows_null[col], programs.get(col, [])))

    def featurize(records: list[Any]) -> np.ndarray | None:
        rows = []
        try:
            for record in records:
                row = template.copy()
                for col, numeric, nullable, ops in plan:
                    v = record[col]
                    if numeric:
                        tv = type(v)
                        if tv is float:
                            if not -INF < v < INF:
                                return None
                        elif tv is int:
                            v = float(v)
                        elif v is None and nullable:
                            v = NAN
                        else:
                            return None
                    elif type(v) is not str:
                        if v is None and nullable:
                            v = NAN
                        else:
                            return None
                    for pos, fn, table in ops:
                        if table is None:
                            row[pos] = fn(v)
                        else:
                            hit = table.get(fn(v) if fn is not None else v)
                            if hit is not None:
                                row[pos + hit] = 1.0
                rows.append(row)
        except (KeyError, TypeError, AttributeError, OverflowError):
            return None
        return np.array(rows, dtype=np.float64)

    return featurize


def _chain(trans: Any) -> list[Any]:
    if isinstance(trans, str):
        if trans == "passthrough":
            return []
        raise NotCompilable(f"transformer {trans!r}")
    if type(trans).__name__ == "Pipeline":
        return [e for _, e in trans.steps if e is not None and e != "passthrough"]
    return [trans]


Op = tuple[int, Any, "dict[Any, int] | None"]


def _column_program(chain: list[Any], j: int, start: int, schema: InputSchema,
                    col: str) -> Op:
    """(output position, scalar function, one-hot table or None) for input column j."""
    fns: list[Callable[[Any], Any]] = []
    for est in chain:
        name = type(est).__name__
        if name == "SimpleImputer":
            if est.add_indicator:
                raise NotCompilable("SimpleImputer(add_indicator=True)")
            fill = est.statistics_[j]
            fill = fill.item() if hasattr(fill, "item") else fill
            if isinstance(fill, float) and math.isnan(fill):
                raise NotCompilable("SimpleImputer with an all-missing training column")
            fns.append(_impute(fill))
        elif name == "StandardScaler":
            mean = float(est.mean_[j]) if est.with_mean else 0.0
            scale = float(est.scale_[j]) if est.with_std else 1.0
            if est.with_mean or est.with_std:
                fns.append(_standardize(mean, scale))
        elif name == "FunctionTransformer" and est.func is None:
            continue
        elif name == "MaxAbsScaler":
            fns.append(_divide(float(est.scale_[j])))
        elif name == "OneHotEncoder" and est is chain[-1]:
            if est.drop_idx_ is not None or getattr(est, "_infrequent_enabled", False):
                raise NotCompilable("OneHotEncoder with drop or infrequent categories")
            if est.handle_unknown not in ("ignore", "infrequent_if_exist"):
                raise NotCompilable("OneHotEncoder(handle_unknown='error')")
            offset = start + sum(len(c) for c in est.categories_[:j])
            return offset, (_compose(fns) if fns else None), _table(est.categories_[j])
        else:
            raise NotCompilable(f"{name} is not row-compiled")
    if schema.kinds[col] != "numeric":
        raise NotCompilable(f"text column {col!r} ends in numbers without an encoder")
    return start + j, _compose(fns), None


def _impute(fill: Any) -> Callable[[Any], Any]:
    def impute(v: Any) -> Any:
        return fill if v is NAN or v != v else v

    return impute


def _standardize(mean: float, scale: float) -> Callable[[Any], Any]:
    # (v - 0.0) / 1.0 is v, bit for bit, so one form serves every with_mean/with_std choice
    def standardize(v: Any) -> Any:
        return (v - mean) / scale

    return standardize


def _divide(scale: float) -> Callable[[Any], Any]:
    def divide(v: Any) -> Any:
        return v / scale

    return divide


def _table(categories: np.ndarray) -> dict[Any, int]:
    table: dict[Any, int] = {}
    for i, c in enumerate(categories.tolist()):
        if c is None or (isinstance(c, float) and math.isnan(c)):
            table[NAN] = i
        else:
            table[c] = i
    return table


def _compose(fns: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    if not fns:
        return float
    if len(fns) == 1:
        return fns[0]

    def composed(v: Any) -> Any:
        for fn in fns:
            v = fn(v)
        return v

    return composed
