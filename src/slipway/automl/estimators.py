"""The learners the engine can choose: how to build, early-stop and tune each.

A :class:`Learner` is a recipe, not an estimator: ``make`` returns a plain
scikit-learn-compatible estimator (LightGBM, XGBoost, scikit-learn, CatBoost
when installed). The one custom class, :class:`XGBoostClassifier`, only adds
label encoding so XGBoost accepts string classes like the others do.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import ElasticNet, LogisticRegression
from sklearn.preprocessing import LabelEncoder
from xgboost import XGBClassifier, XGBRegressor
from xgboost.callback import TrainingCallback

from slipway.automl.featurize import FOREST, GBM, LINEAR

Check = Callable[[], None]
MAX_TREES = 5000


class XGBoostClassifier(XGBClassifier):
    """``xgboost.XGBClassifier`` that takes any class labels and predicts them back.

    Fitted attributes: everything ``XGBClassifier`` sets, ``label_encoder_``
    (the ``LabelEncoder`` fitted on ``y``) and ``classes_`` (original labels).
    """

    def fit(self, X: Any, y: Any, **kwargs: Any) -> XGBoostClassifier:
        encoder = LabelEncoder().fit(y)
        if kwargs.get("eval_set"):
            kwargs["eval_set"] = [(Xv, encoder.transform(yv)) for Xv, yv in kwargs["eval_set"]]
        # XGBoost checks y against ``classes_`` while fitting: expose codes until done.
        self.__dict__.pop("label_encoder_", None)
        super().fit(X, encoder.transform(y), **kwargs)
        self.label_encoder_ = encoder
        return self

    @property
    def classes_(self) -> np.ndarray:
        encoder = self.__dict__.get("label_encoder_")
        if encoder is None:
            return np.arange(self.n_classes_)
        return np.asarray(encoder.classes_)

    def predict(self, X: Any, **kwargs: Any) -> np.ndarray:  # type: ignore[override,unused-ignore]
        codes = np.asarray(super().predict(X, **kwargs)).astype(int)
        return np.asarray(self.label_encoder_.inverse_transform(codes))


class _XGBCheck(TrainingCallback):
    """Calls ``check`` after each boosting round (deadline / stop request)."""

    def __init__(self, check: Check) -> None:
        super().__init__()
        self.check = check

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        self.check()
        return False


@dataclass(frozen=True)
class Learner:
    name: str
    style: str  # featurizer style: gbm | forest | linear
    tasks: tuple[str, ...]
    build: Callable[[str, dict[str, Any], int, int], Any]  # (task, params, seed, n_jobs)
    space: Callable[[Any, str], dict[str, Any]]  # (optuna trial, task) -> params
    boosted: bool = False  # supports early stopping on an eval set
    portfolio: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def make(self, task: str, params: dict[str, Any], seed: int = 0, n_jobs: int = 1) -> Any:
        return self.build(task, dict(params), seed, n_jobs)


# --- LightGBM -------------------------------------------------------------------------


def _lgbm(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    from lightgbm import LGBMClassifier, LGBMRegressor

    base = {"n_estimators": 100, "verbosity": -1, "random_state": seed, "n_jobs": n_jobs}
    cls = LGBMClassifier if task == "classification" else LGBMRegressor
    return cls(**{**base, **params})


def _lgbm_space(trial: Any, task: str) -> dict[str, Any]:
    p = "LightGBM__"
    return {
        "n_estimators": MAX_TREES,
        "learning_rate": trial.suggest_float(p + "learning_rate", 0.01, 0.2, log=True),
        "num_leaves": trial.suggest_int(p + "num_leaves", 4, 256, log=True),
        "min_child_samples": trial.suggest_int(p + "min_child_samples", 2, 200, log=True),
        "colsample_bytree": trial.suggest_float(p + "colsample_bytree", 0.2, 1.0),
        "subsample": trial.suggest_float(p + "subsample", 0.5, 1.0),
        "subsample_freq": 1,
        "reg_alpha": trial.suggest_float(p + "reg_alpha", 1e-3, 10.0, log=True),
        "reg_lambda": trial.suggest_float(p + "reg_lambda", 1e-3, 30.0, log=True),
    }


def _lgbm_fit(est: Any, Z: Any, y: Any, w: Any, Zv: Any, yv: Any, patience: int, check: Check) -> int:
    import lightgbm as lgb

    def _callback(env: Any) -> None:
        check()

    est.fit(
        Z,
        y,
        sample_weight=w,
        eval_set=[(Zv, yv)],
        callbacks=[lgb.early_stopping(patience, verbose=False), _callback],
    )
    return int(est.best_iteration_ or est.n_estimators)


# --- XGBoost --------------------------------------------------------------------------


def _xgb(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    base = {
        "n_estimators": 100,
        "tree_method": "hist",
        "random_state": seed,
        "n_jobs": n_jobs,
        "verbosity": 0,
    }
    cls = XGBoostClassifier if task == "classification" else XGBRegressor
    return cls(**{**base, **params})


def _xgb_space(trial: Any, task: str) -> dict[str, Any]:
    p = "XGBoost__"
    return {
        "n_estimators": MAX_TREES,
        "learning_rate": trial.suggest_float(p + "learning_rate", 0.01, 0.3, log=True),
        "max_depth": trial.suggest_int(p + "max_depth", 2, 10),
        "min_child_weight": trial.suggest_float(p + "min_child_weight", 0.5, 50.0, log=True),
        "subsample": trial.suggest_float(p + "subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float(p + "colsample_bytree", 0.2, 1.0),
        "reg_lambda": trial.suggest_float(p + "reg_lambda", 0.1, 30.0, log=True),
        "reg_alpha": trial.suggest_float(p + "reg_alpha", 1e-3, 10.0, log=True),
    }


def _xgb_fit(est: Any, Z: Any, y: Any, w: Any, Zv: Any, yv: Any, patience: int, check: Check) -> int:
    est.set_params(early_stopping_rounds=patience, callbacks=[_XGBCheck(check)])
    try:
        est.fit(Z, y, sample_weight=w, eval_set=[(Zv, yv)], verbose=False)
    finally:
        est.set_params(early_stopping_rounds=None, callbacks=None)
    best = getattr(est, "best_iteration", None)
    return int(best + 1) if best is not None else int(est.n_estimators)


# --- CatBoost (only when installed) ---------------------------------------------------


def _catboost(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    from catboost import CatBoostClassifier, CatBoostRegressor

    base = {
        "iterations": 500,
        "random_seed": seed,
        "thread_count": n_jobs,
        "verbose": False,
        "allow_writing_files": False,
    }
    params = dict(params)
    if "n_estimators" in params:
        params["iterations"] = params.pop("n_estimators")
    cls = CatBoostClassifier if task == "classification" else CatBoostRegressor
    return cls(**{**base, **params})


def _catboost_space(trial: Any, task: str) -> dict[str, Any]:
    p = "CatBoost__"
    return {
        "n_estimators": MAX_TREES,
        "learning_rate": trial.suggest_float(p + "learning_rate", 0.01, 0.3, log=True),
        "depth": trial.suggest_int(p + "depth", 3, 10),
        "l2_leaf_reg": trial.suggest_float(p + "l2_leaf_reg", 0.5, 30.0, log=True),
    }


def _catboost_fit(est: Any, Z: Any, y: Any, w: Any, Zv: Any, yv: Any, patience: int, check: Check) -> int:
    class _Check:
        def after_iteration(self, info: Any) -> bool:
            check()
            return True

    est.fit(Z, y, sample_weight=w, eval_set=(Zv, yv), early_stopping_rounds=patience, callbacks=[_Check()])
    return int(est.get_best_iteration() or 0) + 1


# --- scikit-learn ---------------------------------------------------------------------


def _forest(classifier: Any, regressor: Any) -> Callable[[str, dict[str, Any], int, int], Any]:
    def build(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
        cls = classifier if task == "classification" else regressor
        return cls(**{"n_estimators": 200, "random_state": seed, "n_jobs": n_jobs, **params})

    return build


def _forest_space(name: str) -> Callable[[Any, str], dict[str, Any]]:
    def space(trial: Any, task: str) -> dict[str, Any]:
        p = name + "__"
        return {
            # Bounded so one forest stays affordable next to boosted trees.
            "n_estimators": trial.suggest_int(p + "n_estimators", 50, 250, step=50),
            "max_features": trial.suggest_float(p + "max_features", 0.1, 0.7),
            "min_samples_leaf": trial.suggest_int(p + "min_samples_leaf", 2, 30, log=True),
        }

    return space


def _logistic(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    return LogisticRegression(**{"max_iter": 1000, "random_state": seed, **params})


def _logistic_space(trial: Any, task: str) -> dict[str, Any]:
    return {"C": trial.suggest_float("LogisticRegression__C", 1e-3, 100.0, log=True)}


def _elasticnet(task: str, params: dict[str, Any], seed: int, n_jobs: int) -> Any:
    return ElasticNet(**{"max_iter": 5000, "random_state": seed, **params})


def _elasticnet_space(trial: Any, task: str) -> dict[str, Any]:
    return {
        "alpha": trial.suggest_float("ElasticNet__alpha", 1e-4, 10.0, log=True),
        "l1_ratio": trial.suggest_float("ElasticNet__l1_ratio", 0.0, 1.0),
    }


EARLY_STOPPING_FIT: dict[str, Callable[..., int]] = {
    "LightGBM": _lgbm_fit,
    "XGBoost": _xgb_fit,
    "CatBoost": _catboost_fit,
}

_BOTH = ("classification", "regression")
_LEARNERS = [
    Learner("LightGBM", GBM, _BOTH, _lgbm, _lgbm_space, boosted=True),
    Learner("XGBoost", GBM, _BOTH, _xgb, _xgb_space, boosted=True),
    Learner("CatBoost", GBM, _BOTH, _catboost, _catboost_space, boosted=True),
    Learner(
        "ExtraTrees",
        FOREST,
        _BOTH,
        _forest(ExtraTreesClassifier, ExtraTreesRegressor),
        _forest_space("ExtraTrees"),
    ),
    Learner(
        "RandomForest",
        FOREST,
        _BOTH,
        _forest(RandomForestClassifier, RandomForestRegressor),
        _forest_space("RandomForest"),
    ),
    Learner("LogisticRegression", LINEAR, ("classification",), _logistic, _logistic_space),
    Learner("ElasticNet", LINEAR, ("regression",), _elasticnet, _elasticnet_space),
]


def _available(learner: Learner) -> bool:
    return learner.name != "CatBoost" or importlib.util.find_spec("catboost") is not None


LEARNERS: dict[str, Learner] = {lr.name: lr for lr in _LEARNERS if _available(lr)}


def learner_names(task: str) -> list[str]:
    """Learners available for ``task`` on this install, in preference order."""
    return [name for name, lr in LEARNERS.items() if task in lr.tasks]


def get_learner(name: str) -> Learner:
    return LEARNERS[name]
