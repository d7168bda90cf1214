"""Helpers for integration tests: the real `slipway` command, a bank model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd


def slipway(ws: Path, *args: str, check: bool = True, timeout: float = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real `slipway` command against workspace ``ws``."""
    proc = subprocess.run([sys.executable, "-m", "slipway", "--workspace", str(ws), *args],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "COLUMNS": "200", **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"slipway {' '.join(args)} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def slipway_json(ws: Path, *args: str) -> Any:
    return json.loads(slipway(ws, *args, "--output", "json").stdout)


def bank_pipeline(bank_csv: Path, rows: int = 6000) -> tuple[Any, pd.DataFrame]:
    """A LightGBM pipeline on the real bank file, as AutoML would build it."""
    from lightgbm import LGBMClassifier
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.read_csv(bank_csv).sample(rows, random_state=0)
    X = frame.drop(columns=["y"])
    categorical = [c for c in X.columns if X[c].dtype.kind not in "iuf"]
    prep = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), categorical)],
                             remainder="passthrough")
    pipe = Pipeline([("prep", prep), ("model", LGBMClassifier(n_estimators=60, verbose=-1))])
    return pipe.fit(X, frame["y"]), frame
