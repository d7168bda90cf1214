"""AutoMLSettings validates itself: bad values are InvalidInput with a clear message."""

from __future__ import annotations

from typing import Any

import pytest

from slipway.automl import AutoMLSettings
from slipway.core.errors import InvalidInput


def test_defaults_pick_the_task_metric_and_all_learners() -> None:
    cls = AutoMLSettings(task="classification", target="y")
    reg = AutoMLSettings(task="regression", target="price")
    assert cls.primary_metric == "AUC_weighted"
    assert reg.primary_metric == "r2_score"
    assert "LogisticRegression" in cls.learners() and "ElasticNet" not in cls.learners()
    assert "ElasticNet" in reg.learners() and "LightGBM" in reg.learners()


def test_allowed_and_blocked_learners_narrow_the_choice() -> None:
    s = AutoMLSettings(
        task="classification",
        target="y",
        allowed_learners=["LightGBM", "XGBoost"],
        blocked_learners=["XGBoost"],
    )
    assert s.learners() == ["LightGBM"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "clustering"}, "task must be one of"),
        ({"primary_metric": "r2_score"}, "not a classification metric"),
        ({"primary_metric": "nope"}, "not a classification metric"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": float("nan")}, "timeout_s"),
        ({"iterations": 0}, "iterations"),
        ({"iterations": 2.5}, "iterations"),
        ({"concurrency": 0}, "concurrency"),
        ({"cv_folds": 1}, "cv_folds"),
        ({"validation_size": 1.5}, "validation_size"),
        ({"cv_folds": 3, "validation_size": 0.2}, "not both"),
        ({"class_weight": "heavy"}, "class_weight"),
        ({"featurization": "magic"}, "featurization"),
        ({"allowed_learners": ["SVM"]}, "unknown learner"),
        ({"allowed_learners": "LightGBM"}, "list of learner names"),
        (
            {
                "blocked_learners": [
                    "LightGBM",
                    "XGBoost",
                    "ExtraTrees",
                    "RandomForest",
                    "LogisticRegression",
                    "CatBoost",
                ]
            },
            "no learner left",
        ),
        ({"exclude_columns": ["y"]}, "cannot be excluded"),
        ({"exclude_columns": "age"}, "list of column names"),
        ({"column_types": {"age": "number"}}, "column_types"),
        ({"target": ""}, "target"),
        ({"seed": "0"}, "seed"),
    ],
)
def test_bad_settings_are_invalid_input(kwargs: dict[str, Any], message: str) -> None:
    if kwargs.get("blocked_learners"):
        from slipway.automl.estimators import learner_names

        kwargs["blocked_learners"] = learner_names("classification")
    with pytest.raises(InvalidInput, match=message):
        AutoMLSettings(**{"task": "classification", "target": "y", **kwargs})
