from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from slipway.core.errors import Conflict, InvalidInput, NotFound, Unauthenticated
from slipway.services import identities as ids
from slipway.services import tokens
from slipway.services.workspace import WorkspaceContext
from slipway.store.tables import identities as identities_table


def _stored_hash(ctx: WorkspaceContext, name: str) -> str:
    with ctx.engine.connect() as conn:
        return str(conn.execute(sa.select(identities_table.c.secret_hash)
                                .where(identities_table.c.name == name)).scalar_one())


def test_service_principal_lifecycle_and_secret_shown_once(ctx: WorkspaceContext) -> None:
    issued = ids.create_service_principal(ctx, "ci-bot", "contributor")
    sp = issued.identity
    assert (sp.name, sp.kind, sp.role) == ("ci-bot", "service_principal", "contributor")
    assert issued.secret is not None and issued.secret.startswith("swsp_") and len(issued.secret) > 40
    assert issued.secret not in repr(issued)
    stored = _stored_hash(ctx, "ci-bot")
    assert stored.startswith("$argon2id$") and issued.secret not in stored
    # Nothing but create/reset returns a secret or a hash.
    for shown in (ids.get(ctx, "ci-bot").to_dict(), *[i.to_dict() for i in ids.list_identities(ctx)]):
        assert set(shown) == {"name", "kind", "role", "client_id", "created_at", "updated_at",
                              "last_login_at"}
        assert issued.secret not in str(shown) and stored not in str(shown)
    assert sp.client_id is not None and ids.get(ctx, "ci-bot").client_id == sp.client_id

    tokens.client_credentials_grant(ctx, sp.client_id, issued.secret)
    new = ids.reset_secret(ctx, "ci-bot")
    assert new.secret != issued.secret and new.identity.client_id == sp.client_id
    with pytest.raises(Unauthenticated):
        tokens.client_credentials_grant(ctx, sp.client_id, issued.secret)
    assert new.secret is not None
    tokens.client_credentials_grant(ctx, sp.client_id, new.secret)

    ids.delete(ctx, "ci-bot", "service_principal")
    with pytest.raises(NotFound) as info:
        ids.get(ctx, "ci-bot")
    assert "'ci-bot'" in info.value.message
    with pytest.raises(Unauthenticated):
        tokens.client_credentials_grant(ctx, sp.client_id, new.secret)


def test_sdk_auth_json(ctx: WorkspaceContext) -> None:
    issued = ids.create_service_principal(ctx, "ci-bot")
    creds = ids.sdk_auth(ctx, issued)
    assert creds == {"clientId": issued.identity.client_id, "clientSecret": issued.secret,
                     "tokenUrl": "http://127.0.0.1:8765/oauth/token",
                     "workspaceUrl": "http://127.0.0.1:8765", "workspaceId": ctx.workspace_id}
    creds = ids.sdk_auth(ctx, issued, "https://ml.example.com/")
    assert creds["tokenUrl"] == "https://ml.example.com/oauth/token"
    with pytest.raises(InvalidInput):
        ids.sdk_auth(ctx, issued, "ml.example.com")
    with pytest.raises(InvalidInput):
        ids.sdk_auth(ctx, ids.IssuedSecret(issued.identity, None))


def test_users_generated_or_chosen_password(ctx: WorkspaceContext) -> None:
    alice = ids.add_user(ctx, "alice", "reader")
    assert alice.secret is not None and len(alice.secret) >= 20
    assert (alice.identity.kind, alice.identity.role, alice.identity.client_id) == ("user", "reader", None)
    assert tokens.password_grant(ctx, "alice", alice.secret).refresh_token
    bob = ids.add_user(ctx, "bob@example.com", "contributor", password="correct horse battery")
    assert bob.secret is None
    tokens.password_grant(ctx, "bob@example.com", "correct horse battery")
    with pytest.raises(InvalidInput, match="too short"):
        ids.add_user(ctx, "carol", password="short")
    with pytest.raises(NotFound):
        ids.get(ctx, "carol")

    changed = ids.change_password(ctx, "bob@example.com", "correct horse battery", "a new long passphrase")
    with pytest.raises(Unauthenticated):
        ids.change_password(ctx, "bob@example.com", "wrong", "another long passphrase")
    assert changed.token_generation == bob.identity.token_generation + 1
    reset = ids.reset_password(ctx, "bob@example.com")
    assert reset.secret is not None
    with pytest.raises(Unauthenticated):
        tokens.password_grant(ctx, "bob@example.com", "a new long passphrase")
    tokens.password_grant(ctx, "bob@example.com", reset.secret)


@pytest.mark.parametrize("make", ["user", "sp"])
def test_duplicate_names_conflict_across_kinds(ctx: WorkspaceContext, make: str) -> None:
    ids.add_user(ctx, "alice", "reader")
    with pytest.raises(Conflict) as info:
        if make == "user":
            ids.add_user(ctx, "alice", "owner")
        else:
            ids.create_service_principal(ctx, "alice")
    assert info.value.http_status == 409 and info.value.exit_code == 4
    assert "'alice' already exists (a user)" in info.value.message
    assert ids.get(ctx, "alice").role == "reader"


def test_unknown_role_lists_roles_and_bad_names(ctx: WorkspaceContext) -> None:
    for call in (lambda: ids.add_user(ctx, "alice", "admin"),
                 lambda: ids.create_service_principal(ctx, "bot", "Owner")):
        with pytest.raises(InvalidInput) as info:
            call()
        assert info.value.hint == "use one of: owner, contributor, reader"
    ids.add_user(ctx, "alice", "reader")
    with pytest.raises(InvalidInput):
        ids.set_role(ctx, "alice", "root")
    for bad in ("", "-x", "a b", "a/b", "x" * 129):
        with pytest.raises(InvalidInput):
            ids.create_service_principal(ctx, bad)
    assert [i.name for i in ids.list_identities(ctx)] == ["alice"]


def test_unknown_identity_is_not_found_with_its_name(ctx: WorkspaceContext) -> None:
    ids.create_service_principal(ctx, "ci-bot")
    calls: list[Any] = [
        lambda: ids.get(ctx, "ghost"), lambda: ids.delete(ctx, "ghost"),
        lambda: ids.set_role(ctx, "ghost", "reader"), lambda: ids.reset_secret(ctx, "ghost"),
        lambda: ids.reset_password(ctx, "ghost"),
        # the right name, the wrong kind
        lambda: ids.reset_password(ctx, "ci-bot"), lambda: ids.delete(ctx, "ci-bot", "user"),
    ]
    for call in calls:
        with pytest.raises(NotFound) as info:
            call()
        assert info.value.exit_code == 3 and ("'ghost'" in info.value.message
                                              or "user 'ci-bot'" in info.value.message)
    assert ids.get(ctx, "ci-bot").kind == "service_principal"


def test_last_owner_cannot_be_deleted_or_demoted(ctx: WorkspaceContext) -> None:
    ids.add_user(ctx, "root", "owner")
    ids.create_service_principal(ctx, "ci-bot", "contributor")
    for call in (lambda: ids.delete(ctx, "root"), lambda: ids.set_role(ctx, "root", "contributor")):
        with pytest.raises(Conflict) as info:
            call()
        assert info.value.code == "last_owner" and "last owner" in info.value.message
    assert ids.get(ctx, "root").role == "owner"
    ids.set_role(ctx, "ci-bot", "owner")
    ids.set_role(ctx, "root", "reader")  # another owner exists now
    with pytest.raises(Conflict):
        ids.delete(ctx, "ci-bot")
    ids.delete(ctx, "root")
    assert [(i.name, i.role) for i in ids.list_identities(ctx)] == [("ci-bot", "owner")]


def test_non_owners_change_freely_without_any_owner(ctx: WorkspaceContext) -> None:
    # Before the server's first start there may be no owner at all.
    ids.create_service_principal(ctx, "ci-bot", "contributor")
    ids.set_role(ctx, "ci-bot", "reader")
    ids.delete(ctx, "ci-bot")
    assert ids.list_identities(ctx) == []


def test_ensure_owner_once(ctx: WorkspaceContext, open_ctx: Any) -> None:
    ids.create_service_principal(ctx, "ci-bot", "contributor")
    first = ids.ensure_owner(ctx)
    assert first is not None and first.secret is not None
    assert (first.identity.name, first.identity.role, first.identity.kind) == ("admin", "owner", "user")
    tokens.password_grant(ctx, "admin", first.secret)
    assert ids.ensure_owner(ctx) is None
    assert ids.ensure_owner(open_ctx()) is None  # another server process


def test_ensure_owner_when_the_name_is_taken(ctx: WorkspaceContext) -> None:
    ids.add_user(ctx, "admin", "reader")
    with pytest.raises(Conflict, match="no owner"):
        ids.ensure_owner(ctx)
    assert ids.ensure_owner(ctx, "boss") is not None


def test_weak_hash_is_upgraded_at_sign_in(ctx: WorkspaceContext) -> None:
    issued = ids.add_user(ctx, "alice", "reader")
    assert "m=64,t=1,p=1" in _stored_hash(ctx, "alice")
    assert issued.secret is not None
    ctx.settings = ctx.settings.__class__(**{**ctx.settings.__dict__, "extra": {}})
    tokens.password_grant(ctx, "alice", issued.secret)
    assert "m=65536,t=3,p=4" in _stored_hash(ctx, "alice")
    tokens.password_grant(ctx, "alice", issued.secret)  # the same password, a stronger hash


def test_unknown_hash_setting_is_refused(ctx: WorkspaceContext) -> None:
    ctx.settings = ctx.settings.__class__(**{**ctx.settings.__dict__,
                                             "extra": {ids.HASH_COST_SETTING: "none"}})
    with pytest.raises(InvalidInput, match="password_hash_cost"):
        ids.add_user(ctx, "alice")
