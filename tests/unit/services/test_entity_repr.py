"""What a notebook shows for an entity: one line, not its settings and profile."""

from __future__ import annotations

from datetime import UTC, datetime

from slipway.core.entities import Run


def test_a_run_prints_in_one_short_line() -> None:
    big = {f"key{i}": list(range(50)) for i in range(50)}
    run = Run(id="AutoML_x", experiment="bank", parent_id=None, kind="automl",
              status="Completed", display_name="AutoML", settings=big, params=big, metrics=big,
              properties=big, score=0.94891, error=None, model_artifact=None,
              model_sha256=None, charts_artifact=None, cancel_requested=False, worker=None,
              created_at=datetime.now(UTC), started_at=None, ended_at=None)
    assert repr(run) == ("Run(id='AutoML_x', experiment='bank', kind='automl', "
                         "status='Completed', score=0.9489)")
