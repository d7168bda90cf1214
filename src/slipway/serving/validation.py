"""Request bodies -> a validated column batch, with errors that name the row and column.

The common case (well-formed rows) costs one orjson parse, one ``np.array`` for
all numeric columns and one list comprehension per other column. Only when
that fails do we walk the rows again, slowly, to say exactly what is wrong.
Both the fast path and the plain pipeline read the same :class:`Batch`, so
they see the same coerced values.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import numpy as np

from slipway.core.errors import InvalidInput, PayloadTooLarge
from slipway.core.model_dir import Signature

try:  # orjson is ~5x faster than json for request bodies; json stays the fallback
    import orjson

    _loads: Any = orjson.loads
except ImportError:  # pragma: no cover - orjson is a serving dependency
    _loads = json.loads

NUMERIC = "numeric"
STRING_KINDS = ("categorical", "text")
_TEXT_DTYPES = ("str", "string", "object", "category")


@dataclass(frozen=True)
class InputSchema:
    """The model's input columns, split the way validation and the fast path use them."""

    names: tuple[str, ...]
    kinds: dict[str, str]  # column -> numeric | categorical | text | boolean | datetime
    dtypes: dict[str, str]  # column -> pandas dtype at training time
    numeric: tuple[str, ...]  # columns converted together into one float64 matrix
    other: tuple[str, ...]  # every other column, kept as a Python list
    allows_null: dict[str, bool]  # column -> the model scores a null there

    @classmethod
    def from_signature(cls, sig: Signature, allows_null: dict[str, bool] | None = None
                       ) -> InputSchema:
        kinds = {c.name: c.type for c in sig.inputs}
        numeric = tuple(c.name for c in sig.inputs if c.type == NUMERIC)
        other = tuple(c.name for c in sig.inputs if c.type != NUMERIC)
        nulls = allows_null if allows_null is not None else {c.name: c.nullable for c in sig.inputs}
        return cls(names=tuple(sig.input_names), kinds=kinds,
                   dtypes={c.name: c.dtype for c in sig.inputs}, numeric=numeric, other=other,
                   allows_null=nulls)


@dataclass
class Batch:
    """Validated input: ``numeric`` is (n, len(schema.numeric)) float64, NaN for null;
    ``other`` holds one list per non-numeric column (str/bool values, NaN for null)."""

    n: int
    numeric: np.ndarray
    other: dict[str, list[Any]]

    def to_frame(self, schema: InputSchema) -> Any:
        """The pandas DataFrame the plain pipeline expects, columns in signature order."""
        import pandas as pd

        data: dict[str, Any] = {}
        num_index = {name: j for j, name in enumerate(schema.numeric)}
        for name in schema.names:
            if name in num_index:
                data[name] = self.numeric[:, num_index[name]]
            elif schema.kinds[name] in STRING_KINDS:
                dtype = "str" if schema.dtypes[name] in ("str", "string") else object
                data[name] = pd.Series(self.other[name], dtype=dtype)
            elif schema.kinds[name] == "datetime":
                data[name] = pd.to_datetime(pd.Series(self.other[name], dtype=object))
            else:
                data[name] = pd.Series(self.other[name], dtype=object)
        return pd.DataFrame(data)


def parse_json(body: bytes) -> Any:
    if not body:
        raise InvalidInput("the request body is empty", code="invalid_json",
                           hint='send {"data": [{"column": value, ...}]}')
    with contextlib.suppress(ValueError):  # strict JSON, the fast parser
        return _loads(body)
    try:  # Python clients send NaN/Infinity literals, which strict JSON rejects
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}", code="invalid_json",
                           hint="send Content-Type: application/json with a JSON object") from exc


def extract_records(payload: Any) -> tuple[Any, str]:
    """Return (records, method) from either accepted request shape.

    ``{"data": [...]}`` -> method "predict"; ``{"Inputs": {"data": [...]},
    "GlobalParameters": {"method": "predict_proba"}}`` -> the named method."""
    if not isinstance(payload, dict):
        raise InvalidInput(f"the request body must be a JSON object, not {_json_type(payload)}",
                           code="invalid_body", hint='send {"data": [{"column": value, ...}]}')
    if "data" in payload:
        return payload["data"], "predict"
    inputs = payload.get("Inputs")
    if isinstance(inputs, dict) and "data" in inputs:
        params = payload.get("GlobalParameters") or {}
        method = params.get("method", "predict") if isinstance(params, dict) else "predict"
        if method not in ("predict", "predict_proba"):
            raise InvalidInput(f"unknown method {method!r}", code="invalid_body",
                               hint='GlobalParameters.method is "predict" or "predict_proba"')
        return inputs["data"], method
    raise InvalidInput('the request has no "data" field', code="missing_data",
                       hint='send {"data": [{"column": value, ...}]}')


def validate_records(records: Any, schema: InputSchema, max_rows: int) -> Batch:
    if not isinstance(records, list):
        raise InvalidInput(f'"data" must be a list of records, not {_json_type(records)}',
                           code="invalid_data", hint='send {"data": [{"column": value, ...}]}')
    n = len(records)
    if n == 0:
        raise InvalidInput('"data" is empty', code="empty_data",
                           hint="send at least one record to score")
    if n > max_rows:
        raise PayloadTooLarge(f"{n} rows in one request; this endpoint accepts at most {max_rows}",
                              hint="split the request into smaller batches")
    try:
        numeric = _numeric_matrix(records, schema.numeric)
        other = _other_columns(records, schema)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        _explain(records, schema)  # raises an InvalidInput naming row and column
        raise  # pragma: no cover - _explain always raises when the fast checks fail
    if numeric.size and not math.isfinite(numeric.sum()):  # one reduction in the common case
        _check_numbers(numeric, schema)
        _check_numeric_nulls(numeric, schema)
    for name in schema.other:
        if not schema.allows_null[name] and math.nan in other[name]:
            _null_error(other[name].index(math.nan), name)
    return Batch(n=n, numeric=numeric, other=other)


def _numeric_matrix(records: list[Any], names: tuple[str, ...]) -> np.ndarray:
    if not names:
        return np.empty((len(records), 0), dtype=np.float64)
    get = itemgetter(*names)
    # None -> NaN here; strings that are numbers are accepted, anything else raises
    if len(names) == 1:
        return np.array([[get(r)] for r in records], dtype=np.float64)
    return np.array([get(r) for r in records], dtype=np.float64)


def _other_columns(records: list[Any], schema: InputSchema) -> dict[str, list[Any]]:
    names = schema.other
    if not names:
        return {}
    if len(names) == 1:
        columns: list[Any] = [[r[names[0]] for r in records]]
    else:
        get = itemgetter(*names)
        columns = list(zip(*[get(r) for r in records], strict=True))
    kinds = schema.kinds
    return {name: _column(list(values), kinds[name]) for name, values in zip(names, columns,
                                                                             strict=True)}


def _column(values: list[Any], kind: str) -> list[Any]:
    if kind in STRING_KINDS or kind == "datetime":
        for v in values:
            if type(v) is not str:
                return [_as_text(v) for v in values]
        return values
    if kind == "boolean":
        return [_as_bool(v) for v in values]
    return values


def _as_text(v: Any) -> Any:
    if type(v) is str:
        return v
    if v is None or (type(v) is float and math.isnan(v)):
        return math.nan
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(v)
    raise TypeError(v)


def _as_bool(v: Any) -> Any:
    if v is None:
        return math.nan
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise TypeError(v)


def _check_numbers(numeric: np.ndarray, schema: InputSchema) -> None:
    if numeric.size and np.isinf(numeric).any():
        row, col = np.argwhere(np.isinf(numeric))[0]
        raise InvalidInput(f"row {row}, column {schema.numeric[col]!r}: infinite values "
                           "cannot be scored", code="invalid_value",
                           hint="send a finite number, or null for a missing value")


def _check_numeric_nulls(numeric: np.ndarray, schema: InputSchema) -> None:
    for j, name in enumerate(schema.numeric):
        if not schema.allows_null[name] and np.isnan(numeric[:, j]).any():
            _null_error(int(np.flatnonzero(np.isnan(numeric[:, j]))[0]), name)


def _null_error(row: int, name: str) -> None:
    raise InvalidInput(f"row {row}, column {name!r}: this model cannot score a missing value "
                       "here", code="missing_value", hint=f"send a value for {name!r}")


def _explain(records: list[Any], schema: InputSchema) -> None:
    """Walk the records slowly to find the first problem and raise it."""
    expected = ", ".join(schema.names)
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise InvalidInput(f"row {i} is {_json_type(record)}, not an object of "
                               "column: value", code="invalid_data",
                               hint=f"each record maps column names to values: {expected}")
        for name in schema.names:
            if name not in record:
                raise InvalidInput(f"row {i} is missing column {name!r}", code="missing_column",
                                   hint=f"the model needs the columns: {expected}")
            _check_value(i, name, schema.kinds[name], record[name])
    raise InvalidInput("the records could not be read", code="invalid_data",
                       hint=f"each record maps column names to values: {expected}")


def _check_value(row: int, name: str, kind: str, value: Any) -> None:
    try:
        if kind == NUMERIC:
            if isinstance(value, (dict, list)):
                raise TypeError(value)
            float(np.float64(value if value is not None else math.nan))
        elif kind == "boolean":
            _as_bool(value)
        else:
            _as_text(value)
    except (TypeError, ValueError):
        want = {"numeric": "a number", "boolean": "true or false"}.get(kind, "a string")
        raise InvalidInput(f"row {row}, column {name!r}: expected {want}, got "
                           f"{_json_type(value)} {_short(value)}", code="invalid_type",
                           hint=f"send {want} (or null) for {name!r}") from None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."
