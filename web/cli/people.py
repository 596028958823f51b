"""`complaints users` and `complaints tokens`: accounts and personal API tokens."""
from __future__ import annotations

import sys

import click

from engine.db import UnitOfWork
from engine.errors import ServiceError
from engine.people import tokens as api_tokens
from engine.people import users as staff
from engine.people.roles import ROLES
from web.cli.shell import OPERATOR, Context, emit, fail, pass_ctx


@click.group()
def users() -> None:
    """Manage users."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--department", help="A department's code (the administrator's departments page lists them).")
@click.option("--display-name")
@click.option("--email")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@pass_ctx
def users_add(ctx: Context, name, role, department, display_name, email, password_stdin) -> None:
    """Add a user."""
    password = sys.stdin.readline().rstrip("\n")
    try:
        with UnitOfWork(ctx.db) as uow:
            user_id = staff.add_user(uow, name, role, password, department=department,
                                        display_name=display_name, email=email)
    except ServiceError as err:
        fail(err, False)
    click.echo(f"user {name} created (id {user_id})")


def _user_change(ctx: Context, change, *args) -> None:
    try:
        with UnitOfWork(ctx.db) as uow:
            change(uow, *args)
    except ServiceError as err:
        fail(err, False)


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the new password from stdin.")
@pass_ctx
def users_password(ctx: Context, name, password_stdin) -> None:
    """Set a user's password (their sessions end)."""
    _user_change(ctx, staff.set_password, name, sys.stdin.readline().rstrip("\n"))
    click.echo(f"password of {name} changed; their sessions have ended")


def _activation(command: str, active: bool, summary: str) -> None:
    @users.command(command, help=summary)
    @click.argument("name")
    @pass_ctx
    def change(ctx: Context, name) -> None:
        _user_change(ctx, staff.set_active, name, active)
        click.echo(f"{name} {command}d")


_activation("deactivate", False, "Stop a user from signing in (their sessions end at once; their history stays).")
_activation("activate", True, "Let a deactivated user sign in again.")


@click.group()
def tokens() -> None:
    """Manage personal API tokens (for /api/v1)."""


@tokens.command("create")
@click.option("--user", "username", required=True, help="Whose token: the API acts as this user.")
@click.option("--name", default="", help="What the token is for (shown in lists).")
@click.option("--days", type=int, default=api_tokens.DEFAULT_DAYS, show_default=True,
              help=f"How long the token lasts (at most {api_tokens.MAX_DAYS} days).")
@click.option("--read-only", is_flag=True, help="The token may only read (GET), never change anything.")
@pass_ctx
def tokens_create(ctx: Context, username: str, name: str, days: int, read_only: bool) -> None:
    """Create a token and print it: this is the only time it is shown."""
    try:
        with UnitOfWork(ctx.db) as uow:
            _token_id, token = api_tokens.create_token(uow, OPERATOR, username, name, days=days,
                                                       read_only=read_only)
    except ServiceError as err:
        fail(err, False)
    click.echo(token)


@tokens.command("list")
@click.option("--user", "username", help="Only this user's tokens.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def tokens_list(ctx: Context, username: str | None, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    with UnitOfWork(ctx.db, write=False) as uow:
        found = api_tokens.list_tokens(uow, OPERATOR, username)
    rows = [{"id": t.id, "user": t.username, "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
             "last_used_at": t.last_used_at, "revoked_at": t.revoked_at, "expires_at": t.expires_at,
             "read_only": t.read_only, "status": _token_status(t)} for t in found]
    emit(as_json, rows, "\n".join(
        f"{t.id:>4}  {t.username:<16} {t.prefix}…  {t.name:<24} {_token_status(t):<8} "
        f"{'read-only' if t.read_only else 'read-write':<10} expires {t.expires_at or 'never'}  "
        f"last used {t.last_used_at or 'never'}" for t in found)
        or "no tokens")


def _token_status(token: api_tokens.TokenInfo) -> str:
    return "revoked" if token.revoked_at else "expired" if token.expired else "active"


@tokens.command("revoke")
@click.argument("token_id", type=int)
@pass_ctx
def tokens_revoke(ctx: Context, token_id: int) -> None:
    """Revoke a token; requests with it are refused from now on."""
    try:
        with UnitOfWork(ctx.db) as uow:
            api_tokens.revoke_token(uow, OPERATOR, token_id)
    except ServiceError as err:
        fail(err, False)
    click.echo(f"token {token_id} revoked")
