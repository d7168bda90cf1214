"""The time budget bounds the whole run, with the engine's own process pool."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from slipway.automl import AutoMLSettings, run_automl


def test_run_ends_within_the_time_budget(bank_csv: Path) -> None:
    df = pd.read_csv(bank_csv).sample(3000, random_state=1).reset_index(drop=True)
    settings = AutoMLSettings(task="classification", target="y", timeout_s=20, concurrency=2)
    started = time.monotonic()
    result = run_automl(df, settings)
    elapsed = time.monotonic() - started
    assert elapsed < 40  # a behavioural bound (budget + generous margin), not a benchmark
    assert result.stopped == "timeout"
    assert result.best_model is not None
    assert result.best_model.predict(df.head(3)).shape == (3,)
    assert all(t.status in ("Completed", "Failed", "Canceled") for t in result.trials)
