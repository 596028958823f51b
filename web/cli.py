"""The `complaints` command: operate the system from a shell.

Exit status: 0 done, 2 invalid input (messages name the field), 3 conflict (stale or already
completed), 4 forbidden (wrong role). `--json` prints machine-readable output.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from engine.bootstrap import DEMO_PASSWORD, connect, init_system
from engine.complaints import services
from engine.config import load_settings
from engine.db import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from engine.people import tokens as api_tokens
from engine.people import users as staff
from engine.people.roles import ADMIN, DEPARTMENTS, ROLES, Actor
from engine.workflow.deploy import read_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid

EXIT_INVALID, EXIT_CONFLICT, EXIT_FORBIDDEN = 2, 3, 4
#: The shell operator, when no --user is given for a read-only command.
OPERATOR = Actor(id=None, username="cli", role=ADMIN)


class _Context:
    def __init__(self) -> None:
        self.settings = load_settings()
        self._db = None

    @property
    def db(self):
        if self._db is None:
            self._db = connect(self.settings)
        return self._db


pass_ctx = click.make_pass_decorator(_Context, ensure=True)


def _fail(err: Exception, as_json: bool) -> None:
    code = {InvalidInput: EXIT_INVALID, NotFound: EXIT_INVALID, Conflict: EXIT_CONFLICT,
            Forbidden: EXIT_FORBIDDEN, ModelInvalid: EXIT_INVALID}.get(type(err), 1)
    if as_json:
        body: dict = {"error": type(err).__name__, "message": str(err)}
        if isinstance(err, InvalidInput):
            body["fields"] = err.errors
        if isinstance(err, ModelInvalid):
            body["problems"] = [p.as_dict() for p in err.problems]
        click.echo(json.dumps(body, ensure_ascii=False, indent=2), err=True)
    elif isinstance(err, InvalidInput):
        for field, messages in err.errors.items():
            click.echo(f"error: {field}: {'; '.join(messages)}", err=True)
    else:
        click.echo(f"error: {err}", err=True)
    sys.exit(code)


def _read_json_stdin() -> object:
    text = sys.stdin.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput({"_input": [f"stdin is not JSON: {err.msg} (line {err.lineno})"]}) from err


def _actor(ctx: _Context, username: str | None) -> Actor:
    if username is None:
        return OPERATOR
    with UnitOfWork(ctx.db, write=False) as uow:
        return services.actor_by_username(uow, username)


def _emit(as_json: bool, payload, text: str) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str) if as_json else text)


@click.group()
def main() -> None:
    """Complaint-handling workflow system."""


@main.command()
@click.option("--demo", is_flag=True, help="Also create the demo users and print their passwords.")
@pass_ctx
def init(ctx: _Context, demo: bool) -> None:
    """Create or upgrade the database and deploy the models in workflows/."""
    try:
        users = init_system(ctx.db, ctx.settings, demo=demo)
    except ModelInvalid as err:
        _fail(err, False)
    click.echo(f"database ready: {ctx.db.engine.url.render_as_string(hide_password=True)}")
    if users:
        click.echo(f"demo users (password for all: {DEMO_PASSWORD}):")
        for user in users:
            dept = f" / {user.department}" if user.department else ""
            click.echo(f"  {user.username:<18} {user.role}{dept}  {user.display_name}")


@main.group()
def users() -> None:
    """Manage users."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--department", type=click.Choice(DEPARTMENTS))
@click.option("--display-name")
@click.option("--email")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@pass_ctx
def users_add(ctx: _Context, name, role, department, display_name, email, password_stdin) -> None:
    """Add a user."""
    password = sys.stdin.readline().rstrip("\n")
    try:
        with UnitOfWork(ctx.db) as uow:
            user_id = services.add_user(uow, name, role, password, department=department,
                                        display_name=display_name, email=email)
    except ServiceError as err:
        _fail(err, False)
    click.echo(f"user {name} created (id {user_id})")


def _user_change(ctx: _Context, change, *args) -> None:
    try:
        with UnitOfWork(ctx.db) as uow:
            change(uow, *args)
    except ServiceError as err:
        _fail(err, False)


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the new password from stdin.")
@pass_ctx
def users_password(ctx: _Context, name, password_stdin) -> None:
    """Set a user's password (their sessions end)."""
    _user_change(ctx, staff.set_password, name, sys.stdin.readline().rstrip("\n"))
    click.echo(f"password of {name} changed; their sessions have ended")


def _activation(command: str, active: bool, summary: str) -> None:
    @users.command(command, help=summary)
    @click.argument("name")
    @pass_ctx
    def change(ctx: _Context, name) -> None:
        _user_change(ctx, staff.set_active, name, active)
        click.echo(f"{name} {command}d")


_activation("deactivate", False, "Stop a user from signing in (their sessions end at once; their history stays).")
_activation("activate", True, "Let a deactivated user sign in again.")


@main.group()
def tokens() -> None:
    """Manage personal API tokens (for /api/v1)."""


@tokens.command("create")
@click.option("--user", "username", required=True, help="Whose token: the API acts as this user.")
@click.option("--name", default="", help="What the token is for (shown in lists).")
@pass_ctx
def tokens_create(ctx: _Context, username: str, name: str) -> None:
    """Create a token and print it: this is the only time it is shown."""
    try:
        with UnitOfWork(ctx.db) as uow:
            _token_id, token = api_tokens.create_token(uow, OPERATOR, username, name)
    except ServiceError as err:
        _fail(err, False)
    click.echo(token)


@tokens.command("list")
@click.option("--user", "username", help="Only this user's tokens.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def tokens_list(ctx: _Context, username: str | None, as_json: bool) -> None:
    """List tokens (never their secrets)."""
    with UnitOfWork(ctx.db, write=False) as uow:
        found = api_tokens.list_tokens(uow, OPERATOR, username)
    rows = [{"id": t.id, "user": t.username, "name": t.name, "prefix": t.prefix, "created_at": t.created_at,
             "last_used_at": t.last_used_at, "revoked_at": t.revoked_at} for t in found]
    _emit(as_json, rows, "\n".join(
        f"{t.id:>4}  {t.username:<16} {t.prefix}…  {t.name:<24} "
        f"{'revoked' if t.revoked_at else 'active':<8} last used {t.last_used_at or 'never'}" for t in found)
        or "no tokens")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@pass_ctx
def tokens_revoke(ctx: _Context, token_id: int) -> None:
    """Revoke a token; requests with it are refused from now on."""
    try:
        with UnitOfWork(ctx.db) as uow:
            api_tokens.revoke_token(uow, OPERATOR, token_id)
    except ServiceError as err:
        _fail(err, False)
    click.echo(f"token {token_id} revoked")


@main.command()
@click.option("--user", "username", required=True, help="The agent recording the complaint.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def start(ctx: _Context, username: str, as_json: bool) -> None:
    """Record a complaint (intake JSON on stdin) and start its lifecycle."""
    try:
        intake = _read_json_stdin()
        actor = _actor(ctx, username)
        with UnitOfWork(ctx.db) as uow:
            result = services.start_complaint(uow, actor, intake)
    except ServiceError as err:
        _fail(err, as_json)
    _emit(as_json, result.__dict__, f"complaint {result.reference} (id {result.complaint_id}) started; "
          f"next: {', '.join(t['task'] + ' [' + t['role'] + ']' for t in result.open_tasks)}")


@main.command()
@click.option("--user", "username", help="Whose lists (default: all open tasks).")
@click.option("--scope", type=click.Choice(["mine", "queue", "overdue", "due_soon"]), default="queue")
@click.option("--page", default=1, type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def tasks(ctx: _Context, username: str | None, scope: str, page: int, as_json: bool) -> None:
    """List open tasks."""
    try:
        actor = _actor(ctx, username)
        with UnitOfWork(ctx.db, write=False) as uow:
            result = services.task_list(uow, actor, scope, page=page)
    except ServiceError as err:
        _fail(err, as_json)
    items = [dict(t.__dict__, created_at=t.created_at.isoformat(),
                  due_at=t.due_at.isoformat() if t.due_at else None) for t in result.items]
    lines = [f"{t['id']}  {t['reference']}  {t['name']:<22} {t['role']:<16} {t['department'] or '-':<16} "
             f"{t['assignee'] or '-':<14} due {t['due_at'] or '-'}" for t in items]
    _emit(as_json, {"total": result.total, "page": result.page, "items": items},
          "\n".join(lines) or "no open tasks")


@main.command()
@click.argument("complaint_id", type=int)
@click.option("--user", "username")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def show(ctx: _Context, complaint_id: int, username: str | None, as_json: bool) -> None:
    """Show a complaint: status, variables, open tasks and their forms, audit trail."""
    try:
        actor = _actor(ctx, username)
        with UnitOfWork(ctx.db, write=False) as uow:
            details = services.complaint_details(uow, actor, complaint_id)
    except ServiceError as err:
        _fail(err, as_json)
    text = [f"{details['reference']}  status={details['status']}  outcome={details['outcome'] or '-'}  "
            f"level={details['level']}  department={details['department'] or '-'}  round={details['round'] or '-'}"]
    text += [f"  open: {t['id']} {t['task']} [{t['role']}] holder={t['assignee'] or '-'}"
             for t in details["open_tasks"]]
    text += [f"  {e['at']}  {e['actor']:<14} {e['kind']:<18} {e['task'] or ''}" for e in details["audit"]]
    _emit(as_json, details, "\n".join(text))


@main.command()
@click.argument("task_id")
@click.option("--user", "username", required=True)
@click.option("--version", "expected_version", type=int, help="Refuse if the complaint changed since this version.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def complete(ctx: _Context, task_id: str, username: str, expected_version: int | None, as_json: bool) -> None:
    """Complete a task with form data (JSON on stdin)."""
    try:
        data = _read_json_stdin()
        actor = _actor(ctx, username)
        with UnitOfWork(ctx.db) as uow:
            result = services.complete_task(uow, actor, task_id, data, expected_version)
    except ServiceError as err:
        _fail(err, as_json)
    _emit(as_json, result.__dict__, f"{result.reference}: {result.status}; next: " +
          (", ".join(t["task"] + " [" + t["role"] + "]" for t in result.open_tasks) or "nothing"))


@main.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def validate_cmd(paths: tuple[Path, ...], as_json: bool) -> None:
    """Validate model folders or files (a file is checked with the folder it sits in)."""
    failed = False
    report = []
    for path in paths:
        folder = path if path.is_dir() else path.parent
        try:
            bundle = validate_bundle(read_bundle(folder))
            report.append({"path": str(path), "ok": True, "process": bundle.process_id,
                           "hash": bundle.content_hash})
            if not as_json:
                click.echo(f"{path}: ok ({bundle.process_id}, {bundle.content_hash[:12]})")
        except ModelInvalid as err:
            failed = True
            report.append({"path": str(path), "ok": False, "problems": [p.as_dict() for p in err.problems]})
            if not as_json:
                for problem in err.problems:
                    click.echo(f"{folder / problem.file if problem.file != '(bundle)' else folder}:"
                               f"{problem.line or ''}: [{problem.element_id or '-'}] {problem.message}"
                               + (f" (hint: {problem.hint})" if problem.hint else ""), err=True)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(EXIT_INVALID if failed else 0)


@main.command()
@click.option("--once", is_flag=True, help="Process what is due now and exit.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds to sleep when nothing is due.")
@pass_ctx
def worker(ctx: _Context, once: bool, poll: float) -> None:
    """Fire due timers (deadlines, warnings) and send queued e-mail. Run as many as you like."""
    import signal
    import threading

    from engine.complaints import notifications, timers
    from web import mail

    if once:
        result = timers.run_due(ctx.db)
        sent = notifications.send_pending(ctx.db, ctx.settings.smtp_url, ctx.settings.mail_sender,
                                          mail.renderer(ctx.settings))
        click.echo(f"fired {result.fired} timer(s) on {result.complaints} complaint(s); "
                   f"{result.failed} failed; {sent} e-mail(s) sent")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo("timer worker running (Ctrl-C to stop)")
    timers.run_worker(ctx.db, ctx.settings, mail.renderer(ctx.settings), stop, poll)


@main.command("test-models")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def test_models(paths: tuple[Path, ...], as_json: bool) -> None:
    """Run the model test cases (tests/*.json) of model folders (default: workflows/)."""
    from engine.config import load_settings
    from engine.modelling.deployment import check_bundle

    failed = False
    report = []
    for folder in paths or (load_settings().workflows_dir,):
        try:
            checked = check_bundle(read_bundle(folder))
        except ModelInvalid as err:
            _fail(err, as_json)
        for result in checked.results:
            failed |= not result.passed
            report.append({"folder": str(folder), "file": result.file, "case": result.name,
                           "passed": result.passed, "failures": result.failures, "path": result.path})
            if not as_json:
                click.echo(f"{'PASS' if result.passed else 'FAIL'}  {folder / result.file}: {result.name}")
                for failure in result.failures:
                    click.echo(f"      {failure}")
        if not checked.results and not as_json:
            click.echo(f"{folder}: no test cases (add tests/*.json)")
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(EXIT_INVALID if failed else 0)


@main.command("export")
@click.argument("version_id", type=int)
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@pass_ctx
def export_cmd(ctx: _Context, version_id: int, folder: Path) -> None:
    """Write a deployed version's files into FOLDER (to keep models in git)."""
    from engine.modelling.deployment import export_version

    try:
        with UnitOfWork(ctx.db, write=False) as uow:
            files = export_version(uow, version_id)
    except ServiceError as err:
        _fail(err, False)
    for path, content in files.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    click.echo(f"wrote {len(files)} file(s) to {folder}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int, envvar="PORT", help="Also read from PORT.")
@click.option("--workers", default=1, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
@click.option("--no-timer-worker", is_flag=True,
              help="Do not fire timers in this process (run `complaints worker` instead).")
@pass_ctx
def serve(ctx: _Context, host: str, port: int, workers: int, threads: int, no_timer_worker: bool) -> None:
    """Serve the staff web UI with gunicorn (deploys workflows/ first)."""
    from web.server import PortBusy
    from web.server import serve as run

    try:
        run(ctx.settings, host, port, workers, threads, timer_worker=not no_timer_worker)
    except PortBusy as err:
        raise click.ClickException(str(err)) from None
