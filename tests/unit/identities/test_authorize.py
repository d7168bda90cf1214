"""Every action x every role x every principal kind, against a matrix written
out by hand (not derived from the code under test)."""

from __future__ import annotations

import pytest

from slipway.core.errors import Forbidden
from slipway.services.identities import ACTIONS, ROLES, Action, Principal, authorize, may

READER_MAY = {
    "datasets.read", "runs.read", "models.read", "endpoints.read", "pipelines.read",
    "schedules.read", "workspace.read",
}
CONTRIBUTOR_MAY = READER_MAY | {
    "datasets.write", "runs.write", "models.write", "endpoints.write", "endpoints.keys",
    "pipelines.write", "pipelines.run", "schedules.write",
}
OWNER_MAY = CONTRIBUTOR_MAY | {"identities.read", "identities.write", "workspace.admin"}
EXPECTED = {"reader": READER_MAY, "contributor": CONTRIBUTOR_MAY, "owner": OWNER_MAY}


def test_the_matrix_covers_every_action_and_role() -> None:
    assert {a.value for a in Action} == OWNER_MAY == {a.value for a in ACTIONS}
    assert set(ROLES) == set(EXPECTED)


@pytest.mark.parametrize("kind", ["user", "service_principal", "run"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", sorted(a.value for a in Action))
def test_role_matrix(action: str, role: str, kind: str) -> None:
    principal = Principal(name="p", kind=kind, role=role, workspace_id="w", subject="s")
    if action in EXPECTED[role]:
        authorize(principal, action)
        assert may(principal, Action(action))
    else:
        with pytest.raises(Forbidden) as info:
            authorize(principal, action)
        assert info.value.http_status == 403 and info.value.exit_code == 5
        assert info.value.details["action"] == action and info.value.details["role"] == role
        assert not may(principal, action)


def test_refusal_says_what_is_needed_and_how_to_get_it() -> None:
    reader = Principal(name="alice", kind="user", role="reader", workspace_id="w", subject="s")
    with pytest.raises(Forbidden) as info:
        authorize(reader, Action.DATASETS_WRITE)
    assert info.value.message == "user 'alice' has role reader, which may not register, " \
                                 "archive or restore datasets"
    assert "contributor or owner" in (info.value.hint or "")
    assert "slipway users set-role alice --role contributor" in (info.value.hint or "")
    bot = Principal(name="ci", kind="service_principal", role="contributor", workspace_id="w",
                    subject="s")
    with pytest.raises(Forbidden) as info:
        authorize(bot, Action.IDENTITIES_WRITE)
    hint = info.value.hint or ""
    assert "needs role owner" in hint and "slipway sp set-role ci --role owner" in hint


def test_unknown_role_or_action() -> None:
    odd = Principal(name="x", kind="user", role="superuser", workspace_id="w", subject="s")
    with pytest.raises(Forbidden):
        authorize(odd, Action.DATASETS_READ)
    with pytest.raises(ValueError, match=r"unknown action 'datasets\.steal'"):
        authorize(odd, "datasets.steal")
