"""The AutoML ensembles take the compiled path too, with the same answers as
the fitted pipeline on the whole bank file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from slipway.automl.ensemble import StackEnsemble, VotingEnsemble
from slipway.serving.model import LoadedModel
from slipway.serving.validation import validate_records

from .conftest import featurizer, save


def _members(X: pd.DataFrame) -> list[tuple[str, Pipeline]]:
    return [("lgbm", Pipeline([("featurize", featurizer(X)),
                               ("learner", LGBMClassifier(n_estimators=40, verbose=-1))])),
            ("lr", Pipeline([("featurize", featurizer(X)),
                             ("learner", LogisticRegression(max_iter=500))]))]


@pytest.mark.parametrize("kind", ["VotingEnsemble", "StackEnsemble"])
def test_ensembles_are_compiled_and_equal_the_pipeline(kind: str, tmp_path: Path,
                                                       bank: pd.DataFrame) -> None:
    sample = bank.sample(3000, random_state=5)
    X, y = sample.drop(columns=["y"]), sample["y"]
    if kind == "VotingEnsemble":
        ensemble = VotingEnsemble(estimators=_members(X), weights=[0.7, 0.3], task="classification")
    else:
        ensemble = StackEnsemble(estimators=_members(X), task="classification", cv=3)
    pipe = Pipeline([("ensemble", ensemble)]).fit(X, y)
    model = LoadedModel(save(tmp_path / "model", pipe, X, "classification", "y"))
    assert model.fast.enabled, model.fast.reason
    assert any(kind in part for part in model.fast.components)

    everything = bank.drop(columns=["y"])
    batch = validate_records(everything.to_dict(orient="records"), model.schema, len(everything))
    proba = model.predictor.proba(batch)
    assert np.max(np.abs(proba - pipe.predict_proba(everything))) < 1e-6
    assert np.array_equal(model._labels(proba), pipe.predict(everything))
    result, _ = model.score_records(everything.head(2).to_dict(orient="records"), "predict", 100)
    assert result == pipe.predict(everything.head(2)).tolist()
