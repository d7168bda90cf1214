"""Load a model directory once, prepare it, and score validated batches.

At start-up we load the pipeline, probe which columns it can score as null,
compile the fast path (:mod:`slipway.serving.fastpath`), check that the fast
path agrees with the pipeline on a sample of rows, and warm both up. A request
then only validates its rows and calls one prepared predictor.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from slipway.core.errors import InvalidInput
from slipway.core.model_dir import Signature, json_safe, load_model_dir
from slipway.serving.fastpath import FastPredictor
from slipway.serving.featurize import SMALL
from slipway.serving.validation import STRING_KINDS, Batch, InputSchema

log = logging.getLogger("slipway.serving")

PROBA_ATOL = 1e-6


class Predictor(Protocol):
    """Scores a batch: ``proba`` is (n, n_classes) for classifiers, ``values`` for regressors."""

    def proba(self, batch: Batch) -> np.ndarray: ...

    def values(self, batch: Batch) -> np.ndarray: ...


class PipelinePredictor:
    """The reference path: a pandas DataFrame through the fitted scikit-learn pipeline."""

    def __init__(self, pipeline: Any, schema: InputSchema) -> None:
        self.pipeline = pipeline
        self.schema = schema

    def proba(self, batch: Batch) -> np.ndarray:
        return np.asarray(self.pipeline.predict_proba(batch.to_frame(self.schema)))

    def values(self, batch: Batch) -> np.ndarray:
        return np.asarray(self.pipeline.predict(batch.to_frame(self.schema)))


class PredictionFailed(InvalidInput):
    """The rows passed validation but the model refused them (e.g. a value it cannot use)."""

    code = "prediction_failed"
    http_status = 422


@dataclass
class FastPathStatus:
    enabled: bool
    reason: str  # why it is on or off, for the server log and /v2/models/<name>
    components: list[str] = field(default_factory=list)


class LoadedModel:
    """A model directory prepared for serving."""

    def __init__(self, path: str | Path, *, fast_path: bool = True,
                 check_every: int = 10_000) -> None:
        md = load_model_dir(path)
        self.path = Path(path)
        self.pipeline = md.pipeline
        self.signature: Signature = md.signature
        self.task = self.signature.task
        self.is_classifier = hasattr(self.pipeline, "predict_proba") and self.task != "regression"
        self.classes: list[Any] = ([json_safe(c) for c in self.pipeline.classes_]
                                   if self.is_classifier else [])
        self._classes_array = np.asarray(self.pipeline.classes_) if self.is_classifier else None
        self._class_keys = [str(c) for c in self.classes]
        base = InputSchema.from_signature(self.signature)
        self.reference = PipelinePredictor(self.pipeline, base)
        self.schema = InputSchema(names=base.names, kinds=base.kinds, dtypes=base.dtypes,
                                  numeric=base.numeric, other=base.other,
                                  allows_null=self._probe_nulls(base))
        self.reference.schema = self.schema
        self.predictor: Predictor = self.reference
        self.fast = FastPathStatus(False, "disabled by configuration")
        self._check_every = check_every
        self._since_check = 0
        self._rows: Any = None  # records -> learner matrix, for small clean requests
        self._learner: Any = None
        if fast_path:
            self._enable_fast_path()
        self.warm_up()

    # -- start-up -------------------------------------------------------------

    def sample_batch(self, n_synthetic: int = 64) -> Batch:
        from slipway.serving.validation import validate_records

        records = self.sample_records(n_synthetic)
        return validate_records(records, self.schema, max_rows=len(records))

    def sample_records(self, n_synthetic: int = 64) -> list[dict[str, Any]]:
        """Example rows plus rows that walk every known category, an unseen value and nulls."""
        rows = [dict(r) for r in self.signature.example] or [self._default_row()]
        cats = {c.name: (c.categories or []) for c in self.signature.inputs}
        for i in range(n_synthetic):
            row = dict(rows[i % len(rows)])
            for j, spec in enumerate(self.signature.inputs):
                k = i + j
                if spec.type == "numeric" and isinstance(row.get(spec.name), (int, float)):
                    row[spec.name] = float(row[spec.name]) * (0.5 + (k % 5) * 0.25)
                elif spec.type in STRING_KINDS and cats[spec.name]:
                    options = [*cats[spec.name], "__unseen__"]
                    row[spec.name] = options[k % len(options)]
                if self.schema_allows_null(spec.name) and k % 11 == 0:
                    row[spec.name] = None
            rows.append(row)
        return rows

    def schema_allows_null(self, name: str) -> bool:
        schema = getattr(self, "schema", None)
        return bool(schema and schema.allows_null.get(name))

    def _default_row(self) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for spec in self.signature.inputs:
            if spec.type == "numeric":
                row[spec.name] = 0.0
            else:
                row[spec.name] = (spec.categories or ["a"])[0]
        return row

    def _probe_nulls(self, base: InputSchema) -> dict[str, bool]:
        """Which columns can be null: ask the pipeline itself, one column at a time."""
        from slipway.serving.validation import validate_records

        row = dict(self.signature.example[0]) if self.signature.example else self._default_row()
        everything = replace(base, allows_null=dict.fromkeys(base.names, True))
        out: dict[str, bool] = {}
        for name in base.names:
            probe = validate_records([{**row, name: None}], everything, max_rows=1)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.reference.schema = everything
                    self._reference_output(probe)
                out[name] = True
            except Exception:
                out[name] = False
        return out

    def _enable_fast_path(self) -> None:
        from slipway.serving.fastpath import compile_pipeline

        try:
            compiled = compile_pipeline(self.pipeline, self.schema, self.is_classifier)
        except Exception as exc:  # any surprise while compiling just means: no fast path
            self.fast = FastPathStatus(False, f"pipeline not compiled ({type(exc).__name__}: "
                                              f"{exc})")
            log.warning("fast path off for %s: %s", self.path, self.fast.reason)
            return
        if compiled.predictor is None:
            self.fast = FastPathStatus(False, f"pipeline not compiled ({compiled.reason})")
            log.warning("fast path off for %s: %s", self.path, self.fast.reason)
            return
        disagreement = self.compare(compiled.predictor, self.sample_batch())
        if disagreement:
            self.fast = FastPathStatus(False, f"disagrees with the pipeline: {disagreement}",
                                       compiled.components)
            log.warning("fast path off for %s: %s", self.path, self.fast.reason)
            return
        self.predictor = compiled.predictor
        self.fast = FastPathStatus(True, "compiled and checked against the pipeline",
                                   compiled.components)
        log.info("fast path on for %s: %s", self.path, ", ".join(compiled.components))
        self._enable_row_path(compiled.predictor)

    def _enable_row_path(self, fast: FastPredictor) -> None:
        from slipway.serving.fastpath import EnsemblePredictor
        from slipway.serving.rowpath import compile_rows
        from slipway.serving.validation import validate_records

        if isinstance(fast, EnsemblePredictor):
            return  # members featurize column-wise; there is no single row featurizer

        try:
            rows = compile_rows(self.pipeline, self.schema)
        except Exception as exc:
            log.info("row path off for %s: %s", self.path, exc)
            return
        records = self.sample_records()
        for start in range(0, len(records), SMALL):
            chunk = records[start:start + SMALL]
            got = rows(chunk)
            want = fast.features(validate_records(chunk, self.schema, len(chunk)))
            clean = all(all(v is not None for v in r.values()) for r in chunk)
            if (got is None and clean) or (got is not None and not np.array_equal(
                    got, want, equal_nan=True)):
                log.warning("row path off for %s: it differs from the column path", self.path)
                return
        self._rows = rows
        self._learner = fast.learner
        self.fast.components.insert(0, f"row featurizer for <= {SMALL} rows")

    def compare(self, candidate: Predictor, batch: Batch) -> str:
        """Empty when ``candidate`` matches the pipeline on ``batch``, else what differs."""
        try:
            got = candidate.proba(batch) if self.is_classifier else candidate.values(batch)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return self.disagreement(got, batch)

    def disagreement(self, got: np.ndarray, batch: Batch) -> str:
        """Empty when ``got`` (probabilities or values) is the pipeline's answer on ``batch``."""
        try:
            if self.is_classifier:
                ref = self.reference.proba(batch)
                if ref.shape != got.shape:
                    return f"probability shape {got.shape} != {ref.shape}"
                diff = float(np.max(np.abs(ref - got))) if ref.size else 0.0
                if not diff <= PROBA_ATOL:
                    return f"max abs probability difference {diff:.3g}"
                ref_labels = self.reference.pipeline.predict(batch.to_frame(self.schema))
                if not np.array_equal(np.asarray(ref_labels), self._labels(got)):
                    return "predicted labels differ"
            else:
                ref_v = self.reference.values(batch)
                diff = float(np.max(np.abs(ref_v.astype(float) - got.astype(float))))
                if not diff <= PROBA_ATOL:
                    return f"max abs prediction difference {diff:.3g}"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return ""

    def warm_up(self, rounds: int = 3) -> None:
        batch = self.sample_batch(8)
        for _ in range(rounds):
            self._output(batch, "predict_proba" if self.is_classifier else "predict")

    # -- scoring --------------------------------------------------------------

    def score_records(self, records: Any, method: str, max_rows: int) -> tuple[list[Any], int]:
        """Validate and score JSON records: (JSON-ready results, number of rows)."""
        from slipway.serving.validation import validate_records

        if (self._rows is not None and type(records) is list
                and 0 < len(records) <= min(SMALL, max_rows)
                and (method == "predict" or self.is_classifier)):
            out = self._row_output(records, method)
            if out is not None:
                return self._jsonable(out, method), len(records)
        batch = validate_records(records, self.schema, max_rows)
        return self.score(batch, method), batch.n

    def _row_output(self, records: list[Any], method: str) -> np.ndarray | None:
        x = self._rows(records)
        if x is None:
            return None
        try:
            out = np.asarray(self._learner(x))
        except Exception as exc:
            log.warning("row path failed (%s: %s); using the column path", type(exc).__name__,
                        exc)
            return None
        if self._check_every:
            self._since_check += 1
            if self._since_check >= self._check_every:
                self._since_check = 0
                from slipway.serving.validation import validate_records

                batch = validate_records(records, self.schema, len(records))
                if self._disable(self.disagreement(out, batch)):
                    return None
        if self.is_classifier and method == "predict":
            return self._labels(out)
        return out

    def score(self, batch: Batch, method: str) -> list[Any]:
        """JSON-ready results: labels or numbers for "predict", {class: prob} for "predict_proba"."""
        if method == "predict_proba" and not self.is_classifier:
            raise InvalidInput("predict_proba needs a classification model",
                               code="invalid_method", hint='use "method": "predict"')
        return self._jsonable(self._output(batch, method), method)

    def _jsonable(self, out: np.ndarray, method: str) -> list[Any]:
        if method == "predict_proba":
            keys = self._class_keys
            return [dict(zip(keys, row, strict=True)) for row in out.tolist()]
        if self.is_classifier:
            return [json_safe(v) for v in out.tolist()] if out.dtype.kind not in "UO" \
                else out.tolist()
        return [None if not math.isfinite(v) else v for v in out.astype(float).tolist()]

    def score_arrays(self, batch: Batch) -> tuple[np.ndarray, np.ndarray | None]:
        """(labels or values, probabilities or None) for the v2 protocol."""
        if self.is_classifier:
            proba = self._guarded(batch, self.predictor.proba, self.reference.proba)
            return self._labels(proba), proba
        return self._guarded(batch, self.predictor.values, self.reference.values), None

    def _output(self, batch: Batch, method: str) -> np.ndarray:
        if self.is_classifier and method == "predict" and self.predictor is self.reference:
            # the pipeline's own predict: it may not be argmax(proba) (tuned thresholds)
            return self._guarded(batch, self.reference.values, self.reference.values)
        if self.is_classifier:
            proba = self._guarded(batch, self.predictor.proba, self.reference.proba)
            return proba if method == "predict_proba" else self._labels(proba)
        return self._guarded(batch, self.predictor.values, self.reference.values)

    def _reference_output(self, batch: Batch) -> np.ndarray:
        if self.is_classifier:
            return self.reference.proba(batch)
        return self.reference.values(batch)

    def _labels(self, proba: np.ndarray) -> np.ndarray:
        assert self._classes_array is not None
        return self._classes_array[np.argmax(proba, axis=1)]

    def _guarded(self, batch: Batch, fn: Any, reference: Any) -> np.ndarray:
        try:
            result = fn(batch)
        except InvalidInput:
            raise
        except Exception as exc:
            if fn == reference:
                raise PredictionFailed(f"the model could not score these rows: {exc}",
                                       hint="check the values against /swagger.json") from exc
            log.warning("fast path failed (%s: %s); answering with the pipeline",
                        type(exc).__name__, exc)
            return self._guarded(batch, reference, reference)
        if fn != reference and self._check_every:
            self._since_check += 1
            if self._since_check >= self._check_every:
                self._since_check = 0
                if self._recheck(batch):
                    return self._guarded(batch, reference, reference)
        return np.asarray(result)

    def _recheck(self, batch: Batch) -> bool:
        """Compare the fast path with the pipeline on a live batch; True if it was turned off."""
        return self._disable(self.compare(self.predictor, batch))

    def _disable(self, disagreement: str) -> bool:
        if not disagreement:
            return False
        self.predictor = self.reference
        self._rows = None
        self.fast = FastPathStatus(False, f"disagreed with the pipeline on a live request: "
                                          f"{disagreement}", self.fast.components)
        log.error("fast path disabled for %s: %s", self.path, self.fast.reason)
        return True
