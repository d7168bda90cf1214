"""AutoML quality on the bank-marketing sample: Slipway against FLAML and
LightGBM with default parameters, same split, same metric, same budget, same
2 cores.

    pip install -e '.[bench]'
    python benchmarks/automl_quality.py [--budgets 60,300] [--repeats 3]

Fixed stratified 80/20 split of ../shared/data/bankmarketing/train.csv (seed
0). Each configuration runs --repeats times (this machine stalls in bursts);
the table shows the median test AUC_weighted with its spread (max - min),
accuracy, wall time and the best model's in-process latency for a 2-row
DataFrame, then Slipway's margin over each peer.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT.parent / "shared" / "data" / "bankmarketing" / "train.csv"
TARGET = "y"


def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(BANK)
    train, test = train_test_split(frame, test_size=0.2, stratify=frame[TARGET], random_state=0)
    return train.reset_index(drop=True), test.reset_index(drop=True)


def latency_ms(predict_proba: Any, X: pd.DataFrame, repeats: int = 200) -> float:
    """Median in-process latency of predict_proba on a 2-row DataFrame."""
    two = X.head(2).copy()
    for _ in range(10):
        predict_proba(two)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predict_proba(two)
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def score(predict_proba: Any, classes: list[Any], test: pd.DataFrame) -> tuple[float, float]:
    from slipway.automl.metrics import compute_metrics

    X, y = test.drop(columns=[TARGET]), test[TARGET].to_numpy()
    proba = np.asarray(predict_proba(X))
    predicted = np.asarray(classes)[proba.argmax(axis=1)]
    metrics = compute_metrics("classification", y, predicted, proba, classes)
    return metrics["AUC_weighted"], metrics["accuracy"]


def run_slipway(train: pd.DataFrame, test: pd.DataFrame, budget: float, seed: int) -> dict[str, Any]:
    from slipway.automl import AutoMLSettings, run_automl
    from slipway.compute import LocalExecutor

    settings = AutoMLSettings(task="classification", target=TARGET, primary_metric="AUC_weighted",
                              timeout_s=budget, concurrency=2, seed=seed)
    executor = LocalExecutor(2)
    started = time.perf_counter()
    try:
        result = run_automl(train, settings, executor=executor)
    finally:
        executor.shutdown(cancel=True)
    wall = time.perf_counter() - started
    model = result.best_model
    best = next(t for t in result.trials if t.trial_id == result.best_trial_id)
    auc, acc = score(model.predict_proba, list(model.classes_), test)
    return {"auc": auc, "accuracy": acc, "wall_s": wall, "model": best.algorithm,
            "latency_ms": latency_ms(model.predict_proba, test.drop(columns=[TARGET])),
            "trials": len(result.trials)}


def run_flaml(train: pd.DataFrame, test: pd.DataFrame, budget: float, seed: int) -> dict[str, Any]:
    from flaml import AutoML

    automl = AutoML()
    X, y = train.drop(columns=[TARGET]), train[TARGET]
    started = time.perf_counter()
    automl.fit(X, y, task="classification", metric="roc_auc", time_budget=budget, n_jobs=2,
               seed=seed, verbose=0)
    wall = time.perf_counter() - started
    auc, acc = score(automl.predict_proba, list(automl.classes_), test)
    return {"auc": auc, "accuracy": acc, "wall_s": wall, "model": automl.best_estimator,
            "latency_ms": latency_ms(automl.predict_proba, test.drop(columns=[TARGET]))}


def run_lightgbm(train: pd.DataFrame, test: pd.DataFrame, budget: float, seed: int) -> dict[str, Any]:
    from lightgbm import LGBMClassifier

    def prepare(frame: pd.DataFrame) -> pd.DataFrame:
        X = frame.drop(columns=[TARGET], errors="ignore").copy()
        for column in X.columns:
            if X[column].dtype.kind not in "iuf":
                X[column] = pd.Categorical(X[column], categories=sorted(train[column].unique()))
        return X

    started = time.perf_counter()
    model = LGBMClassifier(random_state=seed, verbose=-1, n_jobs=2).fit(prepare(train), train[TARGET])
    wall = time.perf_counter() - started

    def predict_proba(X: pd.DataFrame) -> Any:
        return model.predict_proba(prepare(X))

    auc, acc = score(predict_proba, list(model.classes_), test)
    return {"auc": auc, "accuracy": acc, "wall_s": wall, "model": "LGBMClassifier()",
            "latency_ms": latency_ms(predict_proba, test.drop(columns=[TARGET]))}


SYSTEMS = {"slipway": run_slipway, "flaml": run_flaml, "lightgbm-default": run_lightgbm}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    aucs = [r["auc"] for r in runs]
    return {"auc_median": statistics.median(aucs), "auc_spread": max(aucs) - min(aucs),
            "accuracy_median": statistics.median(r["accuracy"] for r in runs),
            "wall_s_median": statistics.median(r["wall_s"] for r in runs),
            "latency_ms_median": statistics.median(r["latency_ms"] for r in runs),
            "models": sorted({str(r["model"]) for r in runs}), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", default="60,300", help="seconds, comma-separated")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not BANK.is_file():
        raise SystemExit(f"real data missing: {BANK}")
    train, test = split()
    print(f"bank-marketing: train {len(train):,} rows, test {len(test):,} rows; "
          f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}")
    results: dict[str, dict[str, Any]] = {}
    systems = args.systems.split(",")
    for budget in (float(b) for b in args.budgets.split(",")):
        runs: dict[str, list[dict[str, Any]]] = {system: [] for system in systems}
        # Interleaved, so the machine's bursts of load fall on every system alike.
        for repeat in range(args.repeats):
            for system in systems:
                outcome = SYSTEMS[system](train, test, budget, repeat)
                runs[system].append(outcome)
                print(f"  {system:17} budget {budget:>4.0f}s run {repeat + 1}: "
                      f"AUC {outcome['auc']:.4f} acc {outcome['accuracy']:.4f} "
                      f"wall {outcome['wall_s']:.1f}s 2-row {outcome['latency_ms']:.2f}ms "
                      f"({outcome['model']})", flush=True)
        for system in systems:
            results[f"{system}@{budget:.0f}"] = summarize(runs[system])
    print(f"\n{'system':17} {'budget':>6} {'AUC_weighted':>13} {'spread':>7} {'accuracy':>9} "
          f"{'wall s':>7} {'2-row ms':>9}")
    for key, row in results.items():
        system, budget = key.split("@")
        print(f"{system:17} {budget:>6} {row['auc_median']:>13.4f} {row['auc_spread']:>7.4f} "
              f"{row['accuracy_median']:>9.4f} {row['wall_s_median']:>7.1f} "
              f"{row['latency_ms_median']:>9.2f}")
    print()
    for budget in args.budgets.split(","):
        ours = results.get(f"slipway@{budget}")
        for peer in ("flaml", "lightgbm-default"):
            theirs = results.get(f"{peer}@{budget}")
            if ours and theirs:
                margin = ours["auc_median"] - theirs["auc_median"]
                print(f"budget {budget}s: Slipway - {peer} = {margin:+.4f} AUC_weighted "
                      f"(median of {args.repeats}); ratio {ours['auc_median'] / theirs['auc_median']:.4f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
