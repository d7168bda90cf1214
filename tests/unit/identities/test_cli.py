from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from slipway.cli.main import app

from .conftest import fast

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("fast_cli")


def _run(ws: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, ["--workspace", str(ws), *args], input=stdin, env=env,
                         catch_exceptions=False)


def test_sp_create_sdk_auth_list_reset_delete(ws_path: Path) -> None:
    result = _run(ws_path, "sp", "create", "ci-bot", "--role", "contributor", "--sdk-auth")
    assert result.exit_code == 0, result.output
    creds = json.loads(result.stdout)  # stdout is the JSON alone
    assert set(creds) == {"clientId", "clientSecret", "tokenUrl", "workspaceUrl", "workspaceId"}
    assert creds["tokenUrl"] == "http://127.0.0.1:8765/oauth/token"
    assert creds["workspaceUrl"] == "http://127.0.0.1:8765"
    assert "shown only once" in result.stderr

    listed = _run(ws_path, "sp", "list", "-o", "json")
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"], r["client_id"]) for r in rows] == \
        [("ci-bot", "contributor", creds["clientId"])]
    for shown in (listed.stdout, _run(ws_path, "sp", "list").stdout,
                  _run(ws_path, "sp", "show", "ci-bot", "-o", "json").stdout):
        assert creds["clientSecret"] not in shown and "argon2" not in shown

    reset = _run(ws_path, "sp", "reset-secret", "ci-bot", "--sdk-auth", "--url",
                 "https://ml.example.com")
    new = json.loads(reset.stdout)
    assert new["clientId"] == creds["clientId"] and new["clientSecret"] != creds["clientSecret"]
    assert new["tokenUrl"] == "https://ml.example.com/oauth/token"

    from slipway import Workspace
    from slipway.services import tokens

    with Workspace(ws_path) as ws:
        fast(ws._ctx)
        token = tokens.client_credentials_grant(ws._ctx, new["clientId"], new["clientSecret"])
        assert tokens.authenticate(ws._ctx, token.access_token).name == "ci-bot"

    assert _run(ws_path, "sp", "set-role", "ci-bot", "--role", "reader").exit_code == 0
    assert json.loads(_run(ws_path, "sp", "show", "ci-bot", "-o", "json").stdout)["role"] == "reader"
    deleted = _run(ws_path, "sp", "delete", "ci-bot")
    assert deleted.exit_code == 0 and "Deleted" in deleted.stdout
    assert json.loads(_run(ws_path, "sp", "list", "-o", "json").stdout) == []


def test_sp_create_table_output_and_server_url_from_environment(ws_path: Path) -> None:
    result = _run(ws_path, "sp", "create", "ci-bot")
    assert result.exit_code == 0, result.output
    assert "client secret  swsp_" in result.stdout and "(contributor)" in result.stdout
    as_json = json.loads(_run(ws_path, "sp", "create", "bot2", "-o", "json").stdout)
    assert as_json["client_secret"].startswith("swsp_") and as_json["kind"] == "service_principal"
    result = _run(ws_path, "sp", "reset-secret", "bot2", "--sdk-auth",
                  env={"SLIPWAY_SERVER_URL": "http://ml.internal:9000"})
    assert json.loads(result.stdout)["workspaceUrl"] == "http://ml.internal:9000"


def test_users_add_list_set_role_delete(ws_path: Path) -> None:
    result = _run(ws_path, "users", "add", "alice", "--role", "reader", "-o", "json")
    assert result.exit_code == 0, result.output
    alice = json.loads(result.stdout)
    assert alice["role"] == "reader" and len(alice["password"]) >= 20
    result = _run(ws_path, "users", "add", "root", "--role", "owner", "--password-stdin",
                  stdin="a long enough passphrase\n")
    assert result.exit_code == 0, result.output
    assert "one-time password" not in result.stdout

    from slipway import Workspace
    from slipway.services import tokens

    with Workspace(ws_path) as ws:
        fast(ws._ctx)
        tokens.password_grant(ws._ctx, "root", "a long enough passphrase")
        tokens.password_grant(ws._ctx, "alice", alice["password"])

    listed = _run(ws_path, "users", "list", "-o", "json").stdout
    assert [(u["name"], u["role"]) for u in json.loads(listed)] == [("alice", "reader"), ("root", "owner")]
    assert alice["password"] not in listed and "password" not in listed
    table = _run(ws_path, "users", "list").stdout
    assert "alice" in table and alice["password"] not in table

    assert _run(ws_path, "users", "set-role", "alice", "--role", "owner").exit_code == 0
    reset = _run(ws_path, "users", "reset-password", "alice")
    assert "one-time password" in reset.stdout
    assert _run(ws_path, "users", "delete", "root").exit_code == 0
    refused = _run(ws_path, "users", "delete", "alice")
    assert refused.exit_code == 4 and "last owner" in refused.stderr
    assert "users set-role" in refused.stderr


def test_bad_input_exit_codes(ws_path: Path) -> None:
    assert _run(ws_path, "users", "add", "alice").exit_code == 0
    duplicate = _run(ws_path, "sp", "create", "alice")
    assert duplicate.exit_code == 4 and "'alice' already exists (a user)" in duplicate.stderr
    role = _run(ws_path, "users", "add", "bob", "--role", "admin")
    assert role.exit_code == 2
    assert "unknown role 'admin'" in role.stderr and "owner, contributor, reader" in role.stderr
    missing = _run(ws_path, "sp", "reset-secret", "ghost")
    assert missing.exit_code == 3 and "service principal 'ghost' does not exist" in missing.stderr
    assert _run(ws_path, "users", "delete", "ghost").exit_code == 3
    short = _run(ws_path, "users", "add", "carol", "--password-stdin", stdin="short\n")
    assert short.exit_code == 2 and "too short" in short.stderr
    empty = _run(ws_path, "users", "add", "carol", "--password-stdin", stdin="")
    assert empty.exit_code == 2 and "empty password" in empty.stderr
