"""`edgeward users ...`: accounts and API tokens for the dashboard and the HTTP API.

Run on the control plane's host (it opens the control plane's database directly): the first
admin is made here, before anyone can log in to make others.
"""

from __future__ import annotations

import json
import secrets
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from control_plane.access import Role
from control_plane.local import open_local
from control_plane.operator_options import ConfigOption, operator
from control_plane.users import AccountStore, Authenticator
from edgeward.cli.options import JsonOption

app = typer.Typer(no_args_is_help=True, add_completion=False)
token_app = typer.Typer(no_args_is_help=True, add_completion=False)
app.add_typer(token_app, name="token", help="Issue, list and revoke API tokens.")
console = Console()

NameArgument = Annotated[str, typer.Argument(help="The account's name.")]


@app.callback()
def users() -> None:
    """Manage dashboard accounts and API tokens (on the control plane's host)."""


def _stores(config: Path | None) -> tuple[AccountStore, Authenticator]:
    plane = open_local(config)
    accounts = AccountStore(plane.writer, plane.audit)
    return accounts, Authenticator(plane.writer, plane.audit, accounts, plane.settings.dashboard)


@app.command()
def add(
    name: NameArgument,
    role: Annotated[Role, typer.Option("--role", help="admin, operator or auditor.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input."),
    ] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an account; without --password-stdin a strong password is made and shown once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(15)
    accounts, _ = _stores(config)
    user = accounts.add(name, role, password, actor=operator())
    shown = None if password_stdin else password
    if as_json:
        typer.echo(json.dumps({**user.to_dict(), "password": shown}))
        return
    console.print(f"account [bold]{name}[/] created with the role {role}")
    if shown is not None:
        console.print(f"password (shown once, keep it safe): [bold]{shown}[/]")


@app.command("list")
def list_users(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List accounts: role, state, last login."""
    accounts, _ = _stores(config)
    listed = accounts.list()
    if as_json:
        typer.echo(json.dumps([u.to_dict() for u in listed], indent=2))
        return
    table = Table(title="Accounts")
    for column in ("name", "role", "state", "last login"):
        table.add_column(column)
    now = time.time()
    for user in listed:
        state = "disabled" if user.disabled else "locked" if user.locked(now) else "active"
        table.add_row(user.name, user.role, state, _time(user.last_login_at))
    console.print(table)


@app.command()
def disable(name: NameArgument, config: ConfigOption = None) -> None:
    """Disable an account: its logins, sessions and tokens are refused."""
    _stores(config)[0].set_disabled(name, True, actor=operator())
    console.print(f"{name} disabled")


@app.command()
def enable(name: NameArgument, config: ConfigOption = None) -> None:
    """Re-enable a disabled account."""
    _stores(config)[0].set_disabled(name, False, actor=operator())
    console.print(f"{name} enabled")


@app.command()
def unlock(name: NameArgument, config: ConfigOption = None) -> None:
    """Clear an account's lock after failed logins."""
    _stores(config)[0].unlock(name, actor=operator())
    console.print(f"{name} unlocked")


@app.command()
def passwd(
    name: NameArgument,
    config: ConfigOption = None,
) -> None:
    """Set an account's password (read from standard input); its sessions end."""
    _stores(config)[0].set_password(name, sys.stdin.readline().rstrip("\n"), actor=operator())
    console.print(f"password of {name} changed")


@token_app.command("issue")
def issue_token(
    user: Annotated[str, typer.Argument(help="The account the token acts for.")],
    label: Annotated[str, typer.Option("--label", help="What the token is for.")],
    role: Annotated[
        Role | None, typer.Option("--role", help="Default: the account's role.")
    ] = None,
    ttl_days: Annotated[
        float | None, typer.Option("--ttl-days", help="Default: no expiry.", min=0.001)
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue an API token; its secret is printed this once."""
    _, auth = _stores(config)
    ttl_s = ttl_days * 86400 if ttl_days is not None else None
    token, secret = auth.issue_token(user, label=label, role=role, ttl_s=ttl_s, actor=operator())
    if as_json:
        typer.echo(json.dumps({**token.to_dict(), "secret": secret}))
        return
    console.print(f"token {token.id} for {user} ({token.role}); secret (shown once):")
    typer.echo(secret)


@token_app.command("list")
def list_tokens(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """List API tokens (never their secrets)."""
    _, auth = _stores(config)
    listed = auth.tokens()
    if as_json:
        typer.echo(json.dumps([t.to_dict() for t in listed], indent=2))
        return
    table = Table(title="API tokens")
    for column in ("id", "user", "label", "role", "state", "last used"):
        table.add_column(column)
    now = time.time()
    for token in listed:
        state = "active" if token.active(now) else "revoked" if token.revoked_at else "expired"
        table.add_row(
            str(token.id), token.user, token.label, token.role, state, _time(token.last_used_at)
        )
    console.print(table)


@token_app.command("revoke")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `users token list`).")],
    config: ConfigOption = None,
) -> None:
    """Revoke an API token: requests carrying it are refused from now on."""
    _stores(config)[1].revoke_token(token_id, actor=operator())
    console.print(f"token {token_id} revoked")


def _time(timestamp: float | None) -> str:
    if timestamp is None:
        return "never"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(timestamp))
