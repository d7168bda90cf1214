from __future__ import annotations

from typing import Any

import pytest

from slipway.core.errors import Forbidden
from slipway.jobs.worker import _child_env
from slipway.services import identities, tokens


def test_a_run_gets_a_workspace_scoped_token_and_no_secret(ws: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLIPWAY_CLIENT_ID", "ci-bot")
    monkeypatch.setenv("SLIPWAY_CLIENT_SECRET", "s3cret")
    env = _child_env(ws._ctx, "AutoML_x")
    assert "SLIPWAY_CLIENT_SECRET" not in env and "SLIPWAY_CLIENT_ID" not in env
    assert env["SLIPWAY_RUN_ID"] == "AutoML_x"
    principal = tokens.authenticate(ws._ctx, f"Bearer {env['SLIPWAY_TOKEN']}")
    assert principal.kind == "run" and principal.workspace_id == ws._ctx.workspace_id
    identities.authorize(principal, identities.Action.RUNS_WRITE)
    with pytest.raises(Forbidden):
        identities.authorize(principal, identities.Action.IDENTITIES_WRITE)
