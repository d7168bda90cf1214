"""The fast path: a fitted Pipeline compiled at load time into a numpy-only predictor.

``Pipeline([ColumnTransformer(...), <optional scalers>, <learner>])`` becomes
one function from a validated :class:`~slipway.serving.validation.Batch` to
the learner's input matrix (see :mod:`slipway.serving.featurize`), then:

- LightGBM: the booster's C API on that matrix (``LGBM_BoosterPredictForMat``,
  one thread), skipping the Python wrapper's per-call checks;
- any other learner (XGBoost, random forests, extra trees, linear models,
  the AutoML ensembles): its own ``predict_proba``/``predict`` on the matrix,
  which still skips pandas and the ColumnTransformer.

What cannot be compiled raises :class:`NotCompilable` with the reason; the
server then serves the plain pipeline. Whatever compiles is still checked
against the pipeline before use (:meth:`LoadedModel.compare`).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from slipway.serving.featurize import (
    SMALL,
    NotCompilable,
    Step,
    compile_step,
    nan_to_singleton,
)
from slipway.serving.validation import Batch, InputSchema

Featurizer = Callable[[Batch], np.ndarray]


@dataclass
class Compiled:
    predictor: FastPredictor | None
    reason: str
    components: list[str] = field(default_factory=list)


class FastPredictor:
    """Featurizer + learner, with the same ``proba``/``values`` interface as the pipeline."""

    def __init__(self, featurize: Featurizer, proba: Callable[[np.ndarray], np.ndarray] | None,
                 values: Callable[[np.ndarray], np.ndarray] | None) -> None:
        self._featurize = featurize
        self._proba = proba
        self._values = values

    @property
    def learner(self) -> Callable[[np.ndarray], np.ndarray]:
        """The learner alone, on an already featurized matrix."""
        fn = self._proba if self._proba is not None else self._values
        assert fn is not None
        return fn

    def features(self, batch: Batch) -> np.ndarray:
        return self._featurize(batch)

    def proba(self, batch: Batch) -> np.ndarray:
        assert self._proba is not None
        return self._proba(self._featurize(batch))

    def values(self, batch: Batch) -> np.ndarray:
        assert self._values is not None
        return self._values(self._featurize(batch))


class EnsemblePredictor(FastPredictor):
    """The AutoML ensembles (a Pipeline around a VotingEnsemble or
    StackEnsemble of featurizer+learner pipelines) from their compiled members:
    a weighted blend, or the fitted meta-learner over the members' outputs."""

    def __init__(self, members: list[FastPredictor], combine: Callable[[list[np.ndarray]], np.ndarray],
                 is_classifier: bool) -> None:
        self._members = members
        self._combine = combine
        self._classifier = is_classifier

    @property
    def learner(self) -> Callable[[np.ndarray], np.ndarray]:
        raise NotCompilable("an ensemble has no single learner")

    def features(self, batch: Batch) -> np.ndarray:
        raise NotCompilable("an ensemble has no single feature matrix")

    def _outputs(self, batch: Batch) -> list[np.ndarray]:
        return [m.proba(batch) if self._classifier else m.values(batch) for m in self._members]

    def proba(self, batch: Batch) -> np.ndarray:
        return self._combine(self._outputs(batch))

    def values(self, batch: Batch) -> np.ndarray:
        return self._combine(self._outputs(batch))


def _compile_ensemble(ensemble: Any, schema: InputSchema, is_classifier: bool) -> Compiled:
    kind = type(ensemble).__name__
    members: list[FastPredictor] = []
    parts: list[str] = []
    classes = list(getattr(ensemble, "classes_", []))
    for member in ensemble.estimators_:
        if is_classifier and list(getattr(member, "classes_", [])) != classes:
            return Compiled(None, f"a {kind} member orders its classes differently")
        compiled = compile_pipeline(member, schema, is_classifier)
        if compiled.predictor is None:
            return Compiled(None, f"{kind} member not compiled: {compiled.reason}")
        members.append(compiled.predictor)
        parts.append("+".join(compiled.components[-1:]))
    if kind == "VotingEnsemble":
        weights = np.asarray(ensemble.weights_, dtype=float)

        def combine(outs: list[np.ndarray]) -> np.ndarray:
            return np.asarray(sum(w * out for w, out in zip(weights, outs, strict=True)))
    else:
        from slipway.automl.ensemble import meta_features

        final = ensemble.final_estimator_
        if is_classifier and list(final.classes_) != classes:
            return Compiled(None, "the StackEnsemble meta-learner orders its classes differently")

        def combine(outs: list[np.ndarray]) -> np.ndarray:
            meta = meta_features(outs, is_classifier)
            if is_classifier:
                return np.asarray(final.predict_proba(meta), dtype=float)
            return np.asarray(final.predict(meta), dtype=float)
    return Compiled(EnsemblePredictor(members, combine, is_classifier), "compiled",
                    [f"{kind}({', '.join(parts)})"])


def _ensemble_in(pipeline: Any) -> Any:
    steps = getattr(pipeline, "steps", None)
    if steps and len(steps) == 1 and type(steps[0][1]).__name__ in ("VotingEnsemble",
                                                                    "StackEnsemble"):
        return steps[0][1]
    return None


def compile_pipeline(pipeline: Any, schema: InputSchema, is_classifier: bool) -> Compiled:
    ensemble = _ensemble_in(pipeline)
    if ensemble is not None:
        return _compile_ensemble(ensemble, schema, is_classifier)
    try:
        featurize, width, sparse, parts = _compile_featurizer(pipeline, schema)
        final, final_name = _compile_learner(pipeline.steps[-1][1], width, sparse, is_classifier)
    except NotCompilable as exc:
        return Compiled(None, str(exc))
    predictor = FastPredictor(featurize, final if is_classifier else None,
                              None if is_classifier else final)
    return Compiled(predictor, "compiled", [*parts, final_name])


# -- featurization ------------------------------------------------------------------


def _compile_featurizer(pipeline: Any, schema: InputSchema
                        ) -> tuple[Featurizer, int, bool, list[str]]:
    if type(pipeline).__name__ != "Pipeline" or len(pipeline.steps) < 2:
        raise NotCompilable("the model is not a scikit-learn Pipeline ending in a learner")
    pre = [e for _, e in pipeline.steps[:-1] if e is not None and e != "passthrough"]
    if not pre:
        raise NotCompilable("the pipeline has no featurization step")
    first = pre[0]
    if type(first).__name__ == "ColumnTransformer":
        featurize, width, sparse, parts = _column_transformer(first, schema)
        rest = pre[1:]
    else:
        names = [str(c) for c in getattr(pipeline, "feature_names_in_", schema.names)]
        featurize, width, sparse, parts = _block_featurizer(names, schema, rest=pre)
        rest = []
    steps: list[Step] = []
    for est in rest:
        steps.append(compile_step(est, "num", steps[-1].width if steps else width,
                                  steps[-1].sparse_out if steps else sparse))
    if not steps:
        return featurize, width, sparse, parts

    def run(batch: Batch) -> np.ndarray:
        x = featurize(batch)
        for step in steps:
            x = step.fn(x, batch.n)
        return x

    return run, steps[-1].width, steps[-1].sparse_out, [*parts, *(s.name for s in steps)]


def _getter(names: list[str], schema: InputSchema) -> tuple[str, Callable[[Batch], Any]]:
    """How to pull these input columns out of a batch: a float matrix or a list of lists."""
    missing = [c for c in names if c not in schema.kinds]
    if missing:
        raise NotCompilable(f"the pipeline reads columns the signature lacks: {missing}")
    num_pos = {c: j for j, c in enumerate(schema.numeric)}
    if all(c in num_pos for c in names):
        idx = np.array([num_pos[c] for c in names], dtype=np.intp)
        return "num", lambda batch: batch.numeric[:, idx]

    def objects(batch: Batch) -> list[list[Any]]:
        return [batch.other[c] if c not in num_pos
                else nan_to_singleton(batch.numeric[:, num_pos[c]].tolist()) for c in names]

    return "obj", objects


def _block_featurizer(names: list[str], schema: InputSchema, rest: list[Any]
                      ) -> tuple[Featurizer, int, bool, list[str]]:
    kind, get = _getter(names, schema)
    steps: list[Step] = []
    for est in rest:
        steps.append(compile_step(est, steps[-1].out_kind if steps else kind,
                                  steps[-1].width if steps else len(names),
                                  steps[-1].sparse_out if steps else False))
    if steps[-1].out_kind != "num":
        raise NotCompilable("featurization does not end in numbers")

    def run(batch: Batch) -> np.ndarray:
        state = get(batch)
        for step in steps:
            state = step.fn(state, batch.n)
        return np.ascontiguousarray(state, dtype=np.float64)

    return run, steps[-1].width, steps[-1].sparse_out, [s.name for s in steps]


def _column_transformer(ct: Any, schema: InputSchema
                        ) -> tuple[Featurizer, int, bool, list[str]]:
    names_in = getattr(ct, "feature_names_in_", None)
    indices = getattr(ct, "_transformer_to_input_indices", None)
    if names_in is None or indices is None:
        raise NotCompilable("ColumnTransformer not fitted on a DataFrame")
    if getattr(ct, "_sklearn_output_config", {}).get("transform") not in (None, "default"):
        raise NotCompilable("ColumnTransformer is set to output pandas")
    blocks: list[tuple[Callable[[Batch], Any], Step, slice]] = []
    parts = []
    width = 0
    for name, trans, columns in ct.transformers_:
        out = ct.output_indices_[name]
        if (isinstance(trans, str) and trans == "drop") or out.stop == out.start:
            continue
        cols = [str(names_in[i]) for i in indices[name]]
        kind, get = _getter(cols, schema)
        if isinstance(columns, str):  # a 1-D selection, as text vectorizers take
            if kind != "obj":
                raise NotCompilable(f"1-D numeric selection for {name!r}")
            step = compile_step(trans, "obj", 1, False)
        else:
            step = compile_step(trans, kind, len(cols), False)
        if step.out_kind != "num" or step.width != out.stop - out.start:
            raise NotCompilable(f"{name!r} would give {step.width} columns, scikit-learn "
                                f"gives {out.stop - out.start}")
        blocks.append((get, step, out))
        parts.append(f"{name}: {step.name}")
        width = max(width, out.stop)

    def run(batch: Batch) -> np.ndarray:
        n = batch.n
        x = np.empty((n, width), dtype=np.float64)
        for get, step, out in blocks:
            x[:, out] = step.fn(get(batch), n)
        return x

    sparse = bool(getattr(ct, "sparse_output_", False))
    return run, width, sparse, [f"ColumnTransformer({'; '.join(parts)})"]


# -- learners -----------------------------------------------------------------------


def _compile_learner(est: Any, width: int, sparse: bool, is_classifier: bool
                     ) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    name = type(est).__name__
    if hasattr(est, "feature_names_in_"):
        raise NotCompilable(f"{name} was fitted on a DataFrame with feature names")
    n_in = getattr(est, "n_features_in_", width)
    if not n_in and getattr(est, "feature_names_", None):  # CatBoost, unpickled, says 0
        n_in = len(est.feature_names_)
    if n_in != width:
        raise NotCompilable(f"{name} expects {n_in} features, featurization gives {width}")
    if name in ("LGBMClassifier", "LGBMRegressor"):
        return _lightgbm(est, width, is_classifier), f"{name} (LightGBM C API)"
    if is_classifier and not hasattr(est, "predict_proba"):
        raise NotCompilable(f"{name} has no predict_proba")
    method = est.predict_proba if is_classifier else est.predict
    if sparse and name.startswith("XGB"):
        from scipy import sparse as sp

        def xgb_sparse(x: np.ndarray) -> np.ndarray:
            return np.asarray(method(sp.csr_matrix(x)))  # XGBoost reads sparse zeros as missing

        return xgb_sparse, f"{name}.{method.__name__} (sparse)"
    return (lambda x: np.asarray(method(x))), f"{name}.{method.__name__}"


def _lightgbm(est: Any, width: int, is_classifier: bool) -> Callable[[np.ndarray], np.ndarray]:
    """LightGBM's C API without the Python wrapper: the single-row fast API (config parsed
    once, at load) for small batches, ``PredictForMat`` for large ones. Same trees, same
    arithmetic, so the same numbers as ``Booster.predict``."""
    import weakref

    from lightgbm.basic import _LIB, _safe_call

    if callable(getattr(est, "objective", None)) or callable(getattr(est, "_objective", None)):
        raise NotCompilable("LightGBM with a custom objective")
    booster = est.booster_
    if booster.num_feature() != width:
        raise NotCompilable("LightGBM booster feature count differs")
    per_row = booster.num_model_per_iteration()
    binary = is_classifier and per_row == 1
    num_iteration = booster.best_iteration if booster.best_iteration > 0 else -1
    handle = booster._handle
    params = ctypes.c_char_p(b"num_threads=1")
    out_len = ctypes.c_int64(0)
    predict_mat = _LIB.LGBM_BoosterPredictForMat

    lib = ctypes.CDLL(_LIB._name)  # our own function objects, so argtypes stay ours
    init = lib.LGBM_BoosterPredictForMatSingleRowFastInit
    init.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                     ctypes.c_int32, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    init.restype = ctypes.c_int
    row_fast = lib.LGBM_BoosterPredictForMatSingleRowFast
    row_fast.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int64),
                         ctypes.c_void_p]
    row_fast.restype = ctypes.c_int
    fast_config = ctypes.c_void_p()
    if init(handle, 0, 0, num_iteration, 1, width, b"num_threads=1",
            ctypes.byref(fast_config)) != 0:
        raise NotCompilable("LightGBM single-row fast API unavailable")
    free = lib.LGBM_FastConfigFree
    free.argtypes = [ctypes.c_void_p]
    weakref.finalize(booster, free, fast_config)
    out_len_ref = ctypes.byref(out_len)
    row_bytes = 8 * per_row

    def lightgbm(x: np.ndarray) -> np.ndarray:
        if not x.flags.c_contiguous or x.dtype != np.float64:
            x = np.ascontiguousarray(x, dtype=np.float64)
        n = x.shape[0]
        out = np.empty(n * per_row, dtype=np.float64)
        if n <= SMALL:
            base, stride, dest = x.ctypes.data, x.strides[0], out.ctypes.data
            for i in range(n):
                if row_fast(fast_config, base + i * stride, out_len_ref, dest + i * row_bytes):
                    raise RuntimeError("LightGBM single-row prediction failed")
        else:
            _safe_call(predict_mat(handle, x.ctypes.data_as(ctypes.c_void_p), ctypes.c_int(1),
                                   ctypes.c_int32(n), ctypes.c_int32(width), ctypes.c_int(1),
                                   ctypes.c_int(0), ctypes.c_int(0), ctypes.c_int(num_iteration),
                                   params, ctypes.byref(out_len),
                                   out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))))
        if binary:
            proba = np.empty((n, 2), dtype=np.float64)
            proba[:, 0] = 1.0 - out
            proba[:, 1] = out
            return proba
        return out.reshape(n, per_row) if per_row > 1 else out

    return lightgbm
