"""Automated ML: pure machine learning on pandas DataFrames (no database, no HTTP).

>>> from slipway.automl import AutoMLSettings, run_automl
>>> result = run_automl(df, AutoMLSettings(task="classification", target="y", timeout_s=60))
>>> result.leaderboard[:3]
>>> result.save_best("model/")
"""

from slipway.automl.engine import run_automl
from slipway.automl.settings import AutoMLSettings
from slipway.automl.trial import AutoMLResult, TrialResult

__all__ = ["AutoMLResult", "AutoMLSettings", "TrialResult", "run_automl"]
