"""Working on complaints from a shell: `start` (record one), `tasks`, `show`, `complete`, `withdraw` (撤诉)."""
from __future__ import annotations

import click

from engine.complaints import casework, intake, withdrawal
from engine.complaints import tasks as task_work
from engine.complaints.worklist import SCOPES
from engine.db import UnitOfWork
from engine.errors import ServiceError
from web.cli.shell import Context, actor_named, emit, fail, pass_ctx, read_json_stdin
from web.secret import secret_key


@click.command()
@click.option("--user", "username", required=True, help="The agent recording the complaint.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def start(ctx: Context, username: str, as_json: bool) -> None:
    """Record a complaint (intake JSON on stdin) and start its lifecycle."""
    try:
        data = read_json_stdin()
        actor = actor_named(ctx, username)
        with UnitOfWork(ctx.db) as uow:
            result = intake.record_complaint(uow, ctx.settings, actor, data, secret_key(ctx.settings)).result
    except ServiceError as err:
        fail(err, as_json)
    emit(as_json, result.__dict__, f"complaint {result.reference} (id {result.complaint_id}) started; "
          f"next: {', '.join(t['task'] + ' [' + t['role'] + ']' for t in result.open_tasks)}")


@click.command()
@click.option("--user", "username", help="Whose lists (default: all open tasks).")
@click.option("--scope", type=click.Choice(SCOPES), default="queue")
@click.option("--page", default=1, type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def tasks(ctx: Context, username: str | None, scope: str, page: int, as_json: bool) -> None:
    """List open tasks."""
    try:
        actor = actor_named(ctx, username)
        with UnitOfWork(ctx.db, write=False) as uow:
            result = task_work.task_list(uow, actor, scope, page=page)
    except ServiceError as err:
        fail(err, as_json)
    items = [dict(t.__dict__, created_at=t.created_at.isoformat(),
                  due_at=t.due_at.isoformat() if t.due_at else None) for t in result.items]
    lines = [f"{t['id']}  {t['reference']}  {t['name']:<22} {t['role']:<16} {t['department'] or '-':<16} "
             f"{t['assignee'] or '-':<14} due {t['due_at'] or '-'}" for t in items]
    emit(as_json, {"total": result.total, "page": result.page, "items": items},
          "\n".join(lines) or "no open tasks")


@click.command()
@click.argument("complaint_id", type=int)
@click.option("--user", "username")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show(ctx: Context, complaint_id: int, username: str | None, as_json: bool) -> None:
    """Show a complaint: status, variables, open tasks and their forms, audit trail."""
    try:
        actor = actor_named(ctx, username)
        with UnitOfWork(ctx.db, write=False) as uow:
            details = casework.complaint_details(uow, actor, complaint_id)
    except ServiceError as err:
        fail(err, as_json)
    text = [f"{details['reference']}  status={details['status']}  outcome={details['outcome'] or '-'}  "
            f"level={details['level']}  department={details['department'] or '-'}  round={details['round'] or '-'}"]
    text += [f"  open: {t['id']} {t['task']} [{t['role']}] holder={t['assignee'] or '-'}"
             for t in details["open_tasks"]]
    text += [f"  {e['at']}  {e['actor']:<14} {e['kind']:<18} {e['task'] or ''}" for e in details["audit"]]
    emit(as_json, details, "\n".join(text))


@click.command()
@click.argument("task_id")
@click.option("--user", "username", required=True)
@click.option("--version", "expected_version", type=int, help="Refuse if the complaint changed since this version.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def complete(ctx: Context, task_id: str, username: str, expected_version: int | None, as_json: bool) -> None:
    """Complete a task with form data (JSON on stdin)."""
    try:
        data = read_json_stdin()
        actor = actor_named(ctx, username)
        with UnitOfWork(ctx.db) as uow:
            result = task_work.complete_task(uow, actor, task_id, data, expected_version)
    except ServiceError as err:
        fail(err, as_json)
    emit(as_json, result.__dict__, f"{result.reference}: {result.status}; next: " +
          (", ".join(t["task"] + " [" + t["role"] + "]" for t in result.open_tasks) or "nothing"))


@click.command()
@click.argument("complaint_id", type=int)
@click.option("--user", "username", required=True, help="The agent or CS manager recording the withdrawal.")
@click.option("--reason", required=True, type=click.Choice(withdrawal.REASONS), help="Why the customer withdrew.")
@click.option("--note", default="", help="Says more; required with the reason `other`.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def withdraw(ctx: Context, complaint_id: int, username: str, reason: str, note: str, as_json: bool) -> None:
    """Record that the customer withdrew the complaint (撤诉): it closes as withdrawn (exit 3 when it cannot be)."""
    try:
        actor = actor_named(ctx, username)
        with UnitOfWork(ctx.db) as uow:
            withdrawal.withdraw(uow, actor, complaint_id, reason, note)
        with UnitOfWork(ctx.db, write=False) as uow:
            details = casework.complaint_details(uow, actor, complaint_id)
    except ServiceError as err:
        fail(err, as_json)
    emit(as_json, {"complaint_id": complaint_id, "reference": details["reference"], "status": details["status"],
                   "outcome": details["outcome"]},
         f"{details['reference']}: {details['status']} ({details['outcome']})")
