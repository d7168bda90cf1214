"""`slipway login` / `slipway login --logout`: sign in to a Slipway server and
cache the tokens (``~/.slipway/credentials.json``, mode 0600) that the CLI and
the SDK then use for that URL, refreshed when they expire."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from slipway.cli.context import workspace_option
from slipway.cli.output import Format, OutputOpt, console, emit, err_console
from slipway.client.auth import InteractiveLoginAuthentication, TokenCache, password_login
from slipway.client.config import is_url, resolve_target
from slipway.core.errors import InvalidInput


def _server_url(ctx: typer.Context, url: str | None) -> str:
    if url:
        if not is_url(url):
            raise InvalidInput(f"{url!r} is not a server URL",
                               hint="e.g. --url http://127.0.0.1:8765")
        return url.rstrip("/")
    target = resolve_target(workspace_option(ctx))
    if isinstance(target, str):
        return target
    raise InvalidInput("which server? the workspace here is a local folder",
                       hint="slipway login --url http://HOST:8765")


def _password(password_stdin: bool) -> str:
    if password_stdin:
        text = sys.stdin.read()
        password = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
    else:
        password = typer.prompt("Password", hide_input=True)
    if not password:
        raise InvalidInput("the password is empty")
    return password


def login(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(
        "--url", help="the server, e.g. http://127.0.0.1:8765 (default: --workspace if a URL)")]
        = None,
    username: Annotated[str | None, typer.Option("--username", "-u")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from standard input")] = False,
    logout: Annotated[bool, typer.Option("--logout", help="forget the cached tokens")] = False,
    output: OutputOpt = Format.table,
) -> None:
    """Sign in to a Slipway server; later commands with --workspace URL use the token."""
    from slipway.client.http import Http

    server = _server_url(ctx, url)
    cache = TokenCache()
    if logout:
        found = cache.remove(server)
        console.print(f"Signed out of {server}." if found else f"Not signed in to {server}.")
        return
    name = username or typer.prompt("User name")
    http = Http(server, InteractiveLoginAuthentication(name, cache=cache, prompt=False))
    try:
        password_login(http, name, _password(password_stdin), cache)
        me = http.get("/me")
    finally:
        http.close()
    cache.set_default(server)
    data = {"url": server, "name": me["name"], "kind": me["kind"], "role": me["role"],
            "workspace_id": me["workspace_id"], "credentials_file": str(cache.path)}

    def render() -> None:
        console.print(f"Signed in to [bold]{server}[/bold] as {me['name']} ({me['role']}).")
        err_console.print(f"[dim]Tokens cached in {cache.path} (mode 0600). Commands that name "
                          "no workspace (no --workspace, SLIPWAY_WORKSPACE or slipway.json) "
                          f"now use {server}, until `slipway login --logout`.[/dim]",
                          highlight=False)

    emit(data, output, render)
