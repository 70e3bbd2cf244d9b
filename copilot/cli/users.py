"""`copilot users ...`: the administrator's commands for accounts and roles.

The CLI acts as a local administrator, recorded in the audit trail as user "cli-admin" with
role admin, without a login. That is deliberate: whoever can run this command on the server
can also read and write the data directory (user store, index, audit trail) directly, so a
password prompt here would add no protection, while it would lock a site out of its own
copilot the day the last admin password is forgotten. Every change is still audited.
Remote users get no such path: the UI and the API log in through `Accounts.login`.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from guardrails import User

from ..build import build_accounts, build_audit_trail
from ..settings import Settings
from ..user_admin import Accounts
from .output import EXPECTED_ERRORS, fail, out

CLI_ADMIN = User(name="cli-admin", role="admin")

users_app = typer.Typer(help="User accounts and roles (users are disabled, never deleted).",
                        no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="read the password from the first line of standard input")]


def _accounts() -> Accounts:
    settings = Settings()
    return build_accounts(settings, build_audit_trail(settings))



def _password(from_stdin: bool) -> str:
    if from_stdin:
        # One line, without its line ending: scripts pipe `printf '%s\n' "$PW"`.
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(name: Annotated[str, typer.Argument(help="login name")],
        role: Annotated[str, typer.Option("--role", help="operator | supervisor | qa | trainer "
                                                         "| admin")],
        password_stdin: PasswordStdin = False) -> None:
    """Create an account (password from a hidden prompt, asked twice)."""
    try:
        account = _accounts().add_user(CLI_ADMIN, name, role, _password(password_stdin))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"added {account.name} ({account.role})", markup=False, highlight=False)


@users_app.command("set-role")
def set_role(name: Annotated[str, typer.Argument()],
             role: Annotated[str, typer.Argument()]) -> None:
    """Give a user another role."""
    try:
        account = _accounts().set_role(CLI_ADMIN, name, role)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"{account.name} is now {account.role}", markup=False, highlight=False)


@users_app.command("passwd")
def passwd(name: Annotated[str, typer.Argument()],
           password_stdin: PasswordStdin = False) -> None:
    """Set a user's password."""
    try:
        _accounts().set_password(CLI_ADMIN, name, _password(password_stdin))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"password of {name} changed", markup=False, highlight=False)


@users_app.command("disable")
def disable(name: Annotated[str, typer.Argument()]) -> None:
    """Refuse all further logins of a user (records naming them stay)."""
    try:
        _accounts().disable(CLI_ADMIN, name)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"{name} disabled", markup=False, highlight=False)


@users_app.command("enable")
def enable(name: Annotated[str, typer.Argument()]) -> None:
    """Allow a disabled user to log in again."""
    try:
        _accounts().enable(CLI_ADMIN, name)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"{name} enabled", markup=False, highlight=False)


@users_app.command("unlock")
def unlock(name: Annotated[str, typer.Argument()]) -> None:
    """Let an account locked by repeated failed logins log in again."""
    try:
        account = _accounts().unlock(CLI_ADMIN, name)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"{account.name} unlocked", markup=False, highlight=False)


@users_app.command("list")
def list_users(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List accounts: name, role, disabled, locked, created, updated (never password hashes)."""
    try:
        accounts = _accounts().list_users(CLI_ADMIN)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if as_json:
        print(json.dumps([a.to_dict() for a in accounts], indent=2, ensure_ascii=False))
        return
    table = Table("name", "role", "status", "created", "updated")
    for a in accounts:
        status = ("[red]disabled[/]" if a.disabled else "enabled") + (
            ", [red]locked[/]" if a.locked else "")
        table.add_row(escape(a.name), a.role, status, a.created[:19], a.updated[:19])
    out.print(table)
