"""`complaints mail-incidents`: what the mailbox could not file — messages set aside after failing every attempt
(retry once fixed, or dismiss) and, with --refused, messages refused with the reason's code (administrators)."""
from __future__ import annotations

import click

from engine.complaints import mail_incidents
from engine.db import UnitOfWork
from engine.errors import ServiceError
from web.cli.shell import Context, actor_named, emit, fail, failure_words, incident_row, pass_ctx


@click.command("mail-incidents")
@click.option("--retry", "retry_id", type=int, help="File this set-aside message (its id) again once fixed.")
@click.option("--dismiss", "dismiss_id", type=int, help="Leave this set-aside message (its id) unfiled for good.")
@click.option("--refused", is_flag=True, help="List refused messages instead, with the reason's code.")
@click.option("--user", "username", help="The administrator acting (needed with --retry and --dismiss).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def mail_incidents_cmd(ctx: Context, retry_id: int | None, dismiss_id: int | None, refused: bool,
                       username: str | None, as_json: bool) -> None:
    """List the mailbox's messages set aside after failing every attempt; --retry or --dismiss one."""
    try:
        if retry_id is not None or dismiss_id is not None:
            if username is None:
                raise click.UsageError("--retry and --dismiss need --user (an administrator)")
            if retry_id is not None and dismiss_id is not None:
                raise click.UsageError("give either --retry or --dismiss")
            me = actor_named(ctx, username)
            with UnitOfWork(ctx.db) as uow:
                if retry_id is not None:
                    mail_incidents.retry(uow, me, retry_id)
                else:
                    mail_incidents.dismiss(uow, me, dismiss_id)
            done = "retried" if retry_id is not None else "dismissed"
            which = retry_id if retry_id is not None else dismiss_id
            emit(as_json, {done: which}, f"mail incident {which} {done}")
            return
        me = actor_named(ctx, username)
        with UnitOfWork(ctx.db, write=False) as uow:
            if refused:
                found = mail_incidents.refused(uow, me)
                emit(as_json, [vars(r) for r in found.items], "\n".join(
                    f"{r.id}  {r.processed_at.isoformat()}  {r.reason or '?'}  {r.sender}  {r.message_id}\n"
                    f"    {r.subject}" for r in found.items) or "no refused mail")
                return
            items = mail_incidents.incidents(uow, me)
    except ServiceError as err:
        fail(err, as_json)
    emit(as_json, [incident_row(i) for i in items], "\n".join(
        f"{i.id}  {i.sender}  {i.message_id}  {i.attempts} attempt(s)  "
        f"set aside {i.failed_at.isoformat() if i.failed_at else '?'}\n    {i.subject}\n"
        f"    {failure_words(i.failure, i.error)}"
        for i in items) or "no mail incidents")
