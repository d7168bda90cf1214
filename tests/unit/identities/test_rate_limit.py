from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from slipway.core.errors import TooManyAttempts, Unauthenticated
from slipway.services import identities as ids
from slipway.services import tokens
from slipway.services.tokens import LoginLimits
from slipway.services.workspace import WorkspaceContext

LIMITS = LoginLimits(per_identity=3, per_address=5, window=timedelta(minutes=10))


def _fail(ctx: WorkspaceContext, name: str, address: str | None = "10.0.0.1") -> None:
    with pytest.raises(Unauthenticated):
        tokens.password_grant(ctx, name, "wrong password!", client_address=address, limits=LIMITS)


def test_failures_per_identity_lock_it_and_say_when_to_retry(ctx: WorkspaceContext,
                                                             open_ctx: Any) -> None:
    alice = ids.add_user(ctx, "alice", "reader")
    assert alice.secret is not None
    for _ in range(3):
        _fail(ctx, "alice")
    # Even the right password is refused now, by any server process, from anywhere.
    for other, address in ((ctx, "10.0.0.1"), (open_ctx(), "10.9.9.9"), (ctx, None)):
        with pytest.raises(TooManyAttempts) as info:
            tokens.password_grant(other, "alice", alice.secret, client_address=address,
                                  limits=LIMITS)
    error = info.value
    assert error.http_status == 429 and error.code == "too_many_attempts"
    assert "too many failed sign-ins for this identity; try again in" in error.message
    retry_after = error.details["retry_after_s"]
    assert 590 <= retry_after <= 601
    assert datetime.fromisoformat(error.details["retry_at"]) > datetime.now(UTC) + timedelta(minutes=9)
    # Other identities are not locked.
    bob = ids.add_user(ctx, "bob", "reader")
    assert bob.secret is not None
    tokens.password_grant(ctx, "bob", bob.secret, client_address="10.0.0.1", limits=LIMITS)


def test_lock_ends_when_the_failures_leave_the_window(ctx: WorkspaceContext) -> None:
    alice = ids.add_user(ctx, "alice", "reader")
    assert alice.secret is not None
    now = datetime.now(UTC)
    store = ctx.identities
    forget = now - timedelta(days=1)
    store.record_failure(["identity:alice"], at=now - timedelta(minutes=11), forget_before=forget)
    store.record_failure(["identity:alice"], at=now - timedelta(minutes=8), forget_before=forget)
    store.record_failure(["identity:alice"], at=now - timedelta(minutes=7), forget_before=forget)
    # Two inside the window: one more failure is allowed, then the lock...
    _fail(ctx, "alice")
    with pytest.raises(TooManyAttempts) as info:
        tokens.password_grant(ctx, "alice", alice.secret, limits=LIMITS)
    # ...lasts until the oldest of the last three leaves the window (8 minutes ago + 10).
    assert 110 <= info.value.details["retry_after_s"] <= 121
    assert "try again in 2 minutes" in info.value.message


def test_success_clears_the_identity_count(ctx: WorkspaceContext) -> None:
    alice = ids.add_user(ctx, "alice", "reader")
    assert alice.secret is not None
    for _ in range(2):
        _fail(ctx, "alice")
    tokens.password_grant(ctx, "alice", alice.secret, limits=LIMITS)
    for _ in range(2):
        _fail(ctx, "alice")
    tokens.password_grant(ctx, "alice", alice.secret, limits=LIMITS)


def test_failures_per_address_span_identities_and_grants(ctx: WorkspaceContext) -> None:
    issued = ids.create_service_principal(ctx, "ci-bot")
    assert issued.identity.client_id is not None and issued.secret is not None
    for name in ("a", "b", "c", "d"):  # names that do not even exist count too
        _fail(ctx, name, "192.0.2.7")
    with pytest.raises(Unauthenticated):
        tokens.client_credentials_grant(ctx, issued.identity.client_id, "nope",
                                        client_address="192.0.2.7", limits=LIMITS)
    with pytest.raises(TooManyAttempts, match="for this address"):
        tokens.client_credentials_grant(ctx, issued.identity.client_id, issued.secret,
                                        client_address="192.0.2.7", limits=LIMITS)
    # The same service principal from another address is fine.
    tokens.client_credentials_grant(ctx, issued.identity.client_id, issued.secret,
                                    client_address="192.0.2.8", limits=LIMITS)


def test_old_failures_are_forgotten(ctx: WorkspaceContext) -> None:
    now = datetime.now(UTC)
    ctx.identities.record_failure(["identity:x"], at=now - timedelta(hours=3), forget_before=now)
    ctx.identities.record_failure(["identity:y"], at=now, forget_before=now - timedelta(hours=1))
    assert ctx.identities.failures_since("identity:x", now - timedelta(days=1)) == []
    assert len(ctx.identities.failures_since("identity:y", now - timedelta(days=1))) == 1


def test_wrong_current_passwords_on_a_change_count_as_failed_sign_ins(
        ctx: WorkspaceContext) -> None:
    alice = ids.add_user(ctx, "alice", "reader")
    assert alice.secret is not None
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            tokens.change_own_password(ctx, "alice", "not it at all", "a new long password",
                                       client_address="10.0.0.1", limits=LIMITS)
    with pytest.raises(TooManyAttempts):  # locked: even the right one is refused now
        tokens.change_own_password(ctx, "alice", alice.secret, "a new long password",
                                   client_address="10.0.0.2", limits=LIMITS)
    with pytest.raises(TooManyAttempts):
        tokens.password_grant(ctx, "alice", alice.secret, client_address="10.0.0.2",
                              limits=LIMITS)
    # Unlocked, the right password changes it, and clears the count.
    ctx.identities.clear_failures("identity:alice")
    tokens.change_own_password(ctx, "alice", alice.secret, "a new long password",
                               client_address="10.0.0.2", limits=LIMITS)
    tokens.password_grant(ctx, "alice", "a new long password", limits=LIMITS)
