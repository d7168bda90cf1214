"""`slipway sp ...` and `slipway users ...`: service principals and users.

These work on a local workspace folder without a server: whoever can write the
folder is its owner, so the first service principal can be made before the
server starts. Secrets are printed once, by the command that makes them.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from slipway.cli.context import workspace
from slipway.cli.output import Format, OutputOpt, console, emit, err_console, print_json, print_table
from slipway.client.identities import RemoteIdentities
from slipway.core.errors import InvalidInput
from slipway.services.identities import DEFAULT_SERVER_URL, ROLES, IssuedSecret

sp_app = typer.Typer(help="Service principals: identities for CI jobs and programs.",
                     no_args_is_help=True)
users_app = typer.Typer(help="Users: people who sign in with a password.", no_args_is_help=True)

_ROLES = " | ".join(ROLES)
RoleOpt = Annotated[str, typer.Option("--role", "-r", help=_ROLES)]
SdkAuthOpt = Annotated[bool, typer.Option(
    "--sdk-auth", help="print only the JSON credentials (clientId, clientSecret, tokenUrl, "
                       "workspaceUrl) for a CI secret")]
UrlOpt = Annotated[str, typer.Option(
    "--url", envvar="SLIPWAY_SERVER_URL",
    help="the server URL written into --sdk-auth credentials")]
_COLUMNS = ["name", "role", "created_at", "last_login_at"]


def _warn_once(what: str) -> None:
    advice = {"client secret": "store it now, e.g. as a CI secret",
              "password": "hand it to the user, who should change it after signing in"}[what]
    err_console.print(f"[yellow]This {what} is shown only once: {advice}.[/yellow]",
                      highlight=False)


def _show_sp_secret(ctx: typer.Context, issued: IssuedSecret, verb: str, sdk_auth: bool,
                    url: str, output: Format) -> None:
    sps = workspace(ctx).identities.service_principals
    if sdk_auth:
        print_json(sps.sdk_auth(issued, url))
        _warn_once("client secret")
        return
    data = {**issued.identity.to_dict(), "client_secret": issued.secret}

    def render() -> None:
        console.print(f"{verb} service principal [bold]{issued.identity.name}[/bold] "
                      f"({issued.identity.role})")
        console.print(f"client id      {issued.identity.client_id}", highlight=False)
        console.print(f"client secret  {issued.secret}", highlight=False)
        _warn_once("client secret")

    emit(data, output, render)


@sp_app.command("create")
def sp_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="e.g. ci-bot")],
    role: RoleOpt = "contributor",
    sdk_auth: SdkAuthOpt = False,
    url: UrlOpt = DEFAULT_SERVER_URL,
    output: OutputOpt = Format.table,
) -> None:
    """Create a service principal and print its client secret once."""
    issued = workspace(ctx).identities.service_principals.create(name, role)
    _show_sp_secret(ctx, issued, "Created", sdk_auth, url, output)


@sp_app.command("reset-secret")
def sp_reset_secret(
    ctx: typer.Context, name: str, sdk_auth: SdkAuthOpt = False,
    url: UrlOpt = DEFAULT_SERVER_URL, output: OutputOpt = Format.table,
) -> None:
    """Issue a new client secret; the old one and its tokens stop working now."""
    issued = workspace(ctx).identities.service_principals.reset_secret(name)
    _show_sp_secret(ctx, issued, "New secret for", sdk_auth, url, output)


@sp_app.command("list")
def sp_list(ctx: typer.Context, output: OutputOpt = Format.table) -> None:
    """Service principals with their role and client id (never a secret)."""
    rows = [i.to_dict() for i in workspace(ctx).identities.service_principals.list()]
    emit(rows, output, lambda: print_table(
        rows, ["name", "role", "client_id", "created_at", "last_login_at"],
        empty="no service principals yet: slipway sp create NAME --role contributor"))


@sp_app.command("show")
def sp_show(ctx: typer.Context, name: str, output: OutputOpt = Format.table) -> None:
    """One service principal."""
    data = workspace(ctx).identities.service_principals.get(name).to_dict()
    emit(data, output, lambda: print_table([data], ["name", "role", "client_id", *_COLUMNS[2:]]))


@sp_app.command("set-role")
def sp_set_role(ctx: typer.Context, name: str, role: RoleOpt,
                output: OutputOpt = Format.table) -> None:
    """Change a service principal's role (its current tokens stop working)."""
    data = workspace(ctx).identities.service_principals.set_role(name, role).to_dict()
    emit(data, output, lambda: console.print(f"{name} is now {role}."))


@sp_app.command("delete")
def sp_delete(ctx: typer.Context, name: str) -> None:
    """Delete a service principal; its secret and tokens stop working now."""
    workspace(ctx).identities.service_principals.delete(name)
    console.print(f"Deleted service principal {name}.")


def _read_password_stdin() -> str:
    if sys.stdin.isatty():
        err_console.print("Password (then Enter, Ctrl-D): ", end="")
    text = sys.stdin.read()
    password = text[:-2] if text.endswith("\r\n") else text.removesuffix("\n")
    if not password:
        raise InvalidInput("--password-stdin read an empty password",
                           hint="pipe it in: printf %s \"$PASSWORD\" | slipway users add NAME "
                                "--password-stdin")
    return password


def _show_password(issued: IssuedSecret, verb: str, output: Format) -> None:
    data: dict[str, Any] = issued.identity.to_dict()
    if issued.secret is not None:
        data["password"] = issued.secret

    def render() -> None:
        console.print(f"{verb} user [bold]{issued.identity.name}[/bold] ({issued.identity.role})")
        if issued.secret is not None:
            console.print(f"one-time password  {issued.secret}", highlight=False)
            _warn_once("password")

    emit(data, output, render)


@users_app.command("add")
def users_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="e.g. alice")],
    role: RoleOpt = "reader",
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from standard input instead of "
                                 "generating one")] = False,
    output: OutputOpt = Format.table,
) -> None:
    """Add a user; prints a generated one-time password once (or use --password-stdin)."""
    password = _read_password_stdin() if password_stdin else None
    issued = workspace(ctx).identities.users.add(name, role, password)
    _show_password(issued, "Added", output)


@users_app.command("list")
def users_list(ctx: typer.Context, output: OutputOpt = Format.table) -> None:
    """Users with their role (never a password)."""
    rows = [i.to_dict() for i in workspace(ctx).identities.users.list()]
    emit(rows, output, lambda: print_table(
        rows, _COLUMNS, empty="no users yet: slipway users add NAME --role reader"))


@users_app.command("set-role")
def users_set_role(ctx: typer.Context, name: str, role: RoleOpt,
                   output: OutputOpt = Format.table) -> None:
    """Change a user's role. The last owner cannot be demoted."""
    data = workspace(ctx).identities.users.set_role(name, role).to_dict()
    emit(data, output, lambda: console.print(f"{name} is now {role}."))


@users_app.command("reset-password")
def users_reset_password(
    ctx: typer.Context, name: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
    output: OutputOpt = Format.table,
) -> None:
    """Set a new password (generated unless --password-stdin); signs the user out everywhere."""
    password = _read_password_stdin() if password_stdin else None
    issued = workspace(ctx).identities.users.reset_password(name, password)
    _show_password(issued, "New password for", output)


def _read_password_change(password_stdin: bool) -> tuple[str, str]:
    if not password_stdin:
        return (typer.prompt("Current password", hide_input=True),
                typer.prompt("New password", hide_input=True, confirmation_prompt=True))
    if sys.stdin.isatty():
        err_console.print("Current password, Enter, new password, Enter, Ctrl-D: ", end="")
    lines = sys.stdin.read().splitlines()
    if len(lines) != 2 or not all(lines):
        raise InvalidInput("--password-stdin needs two lines: the current password, then the "
                           "new one", hint="printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | slipway users "
                                           "change-password --password-stdin")
    return lines[0], lines[1]


@users_app.command("change-password")
def users_change_password(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(
        help="the user (default on a server: the one signed in)")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the current and the new password from standard "
                                 "input, one per line (else they are asked for)")] = False,
    output: OutputOpt = Format.table,
) -> None:
    """Change your own password with the current one; your other sign-ins end."""
    ws = workspace(ctx)
    if name is None:
        if not isinstance(ws.identities, RemoteIdentities):
            raise InvalidInput("which user? a local workspace has no signed-in user",
                               hint="slipway users change-password NAME")
        name = str(ws.identities.me()["name"])
    old, new = _read_password_change(password_stdin)
    data = ws.identities.users.change_password(name, old, new).to_dict()
    emit(data, output, lambda: console.print(
        f"Changed the password of {name}; their other sign-ins have ended."))


@users_app.command("delete")
def users_delete(ctx: typer.Context, name: str) -> None:
    """Delete a user. The last owner cannot be deleted."""
    workspace(ctx).identities.users.delete(name)
    console.print(f"Deleted user {name}.")
