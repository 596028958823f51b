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
from engine.complaints import casework, intake
from engine.complaints import tasks as task_work
from engine.complaints.worklist import SCOPES
from engine.config import load_settings
from engine.db import UnitOfWork
from engine.errors import Code, Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from engine.people import tokens as api_tokens
from engine.people import users as staff
from engine.people.roles import ADMIN, DEPARTMENTS, ROLES, Actor
from engine.workflow.deploy import read_bundle, validate_bundle
from engine.workflow.model_xml import ModelInvalid
from web import messages
from web.secret import secret_key

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
    # isinstance, not type: subclasses (a model failing while it runs is InvalidInput) keep their status
    code = next((status for kind, status in ((InvalidInput, EXIT_INVALID), (NotFound, EXIT_INVALID),
                                             (Conflict, EXIT_CONFLICT), (Forbidden, EXIT_FORBIDDEN),
                                             (ModelInvalid, EXIT_INVALID)) if isinstance(err, kind)), 1)
    english = messages.in_locale("en")
    text = messages.error_text(err, english) if isinstance(err, ServiceError) else str(err)
    if as_json:
        body: dict = {"error": type(err).__name__, "message": text}
        if isinstance(err, ServiceError):
            body.update(code=str(err.code), params=err.params)
        if isinstance(err, InvalidInput):
            body["fields"] = messages.field_texts(err.errors, english)
            body["field_codes"] = messages.as_dicts(err.errors)
        if isinstance(err, ModelInvalid):
            body["problems"] = [p.as_dict() for p in err.problems]
        click.echo(json.dumps(body, ensure_ascii=False, indent=2, default=str), err=True)
    elif isinstance(err, InvalidInput):
        for field, texts in messages.field_texts(err.errors, english).items():
            click.echo(f"error: {field}: {' '.join(texts)}", err=True)
    else:
        click.echo(f"error: {text}", err=True)
    sys.exit(code)


def _read_json_stdin() -> object:
    text = sys.stdin.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput.field("_input", Code.NOT_JSON, line=err.lineno) from err


def _actor(ctx: _Context, username: str | None) -> Actor:
    if username is None:
        return OPERATOR
    with UnitOfWork(ctx.db, write=False) as uow:
        return staff.actor_by_username(uow, username)


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
        users = init_system(ctx.db, ctx.settings, demo=demo, report=click.echo)
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
            user_id = staff.add_user(uow, name, role, password, department=department,
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
@click.option("--days", type=int, default=api_tokens.DEFAULT_DAYS, show_default=True,
              help=f"How long the token lasts (at most {api_tokens.MAX_DAYS} days).")
@click.option("--read-only", is_flag=True, help="The token may only read (GET), never change anything.")
@pass_ctx
def tokens_create(ctx: _Context, username: str, name: str, days: int, read_only: bool) -> None:
    """Create a token and print it: this is the only time it is shown."""
    try:
        with UnitOfWork(ctx.db) as uow:
            _token_id, token = api_tokens.create_token(uow, OPERATOR, username, name, days=days,
                                                       read_only=read_only)
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
             "last_used_at": t.last_used_at, "revoked_at": t.revoked_at, "expires_at": t.expires_at,
             "read_only": t.read_only, "status": _token_status(t)} for t in found]
    _emit(as_json, rows, "\n".join(
        f"{t.id:>4}  {t.username:<16} {t.prefix}…  {t.name:<24} {_token_status(t):<8} "
        f"{'read-only' if t.read_only else 'read-write':<10} expires {t.expires_at or 'never'}  "
        f"last used {t.last_used_at or 'never'}" for t in found)
        or "no tokens")


def _token_status(token: api_tokens.TokenInfo) -> str:
    return "revoked" if token.revoked_at else "expired" if token.expired else "active"


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
        data = _read_json_stdin()
        actor = _actor(ctx, username)
        with UnitOfWork(ctx.db) as uow:
            result = intake.record_complaint(uow, ctx.settings, actor, data, secret_key(ctx.settings)).result
    except ServiceError as err:
        _fail(err, as_json)
    _emit(as_json, result.__dict__, f"complaint {result.reference} (id {result.complaint_id}) started; "
          f"next: {', '.join(t['task'] + ' [' + t['role'] + ']' for t in result.open_tasks)}")


@main.command()
@click.option("--user", "username", help="Whose lists (default: all open tasks).")
@click.option("--scope", type=click.Choice(SCOPES), default="queue")
@click.option("--page", default=1, type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def tasks(ctx: _Context, username: str | None, scope: str, page: int, as_json: bool) -> None:
    """List open tasks."""
    try:
        actor = _actor(ctx, username)
        with UnitOfWork(ctx.db, write=False) as uow:
            result = task_work.task_list(uow, actor, scope, page=page)
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
            details = casework.complaint_details(uow, actor, complaint_id)
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
            result = task_work.complete_task(uow, actor, task_id, data, expected_version)
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
                _print_problems(folder, err, False)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    sys.exit(EXIT_INVALID if failed else 0)


@main.command("deploy")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="The process owner or administrator deploying.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def deploy_cmd(ctx: _Context, folder: Path, username: str, as_json: bool) -> None:
    """Deploy a model folder as the current version, after its validation and its own test cases.

    Start-up never undoes this: it redeploys workflows/ only when that folder changes.
    """
    from engine.modelling.deployment import ModelTestsFailed, deploy_models

    try:
        actor = _actor(ctx, username)
        with UnitOfWork(ctx.db) as uow:
            version, report = deploy_models(uow, actor, read_bundle(folder), source="cli")
    except ModelTestsFailed as err:
        failed = [r for r in err.results if not r.passed]
        if as_json:
            click.echo(json.dumps({"error": "ModelTestsFailed", "failed": [
                {"file": r.file, "case": r.name, "failures": r.failures} for r in failed]},
                ensure_ascii=False, indent=2), err=True)
        for result in failed if not as_json else ():
            click.echo(f"error: {folder / result.file}: {result.name}: {'; '.join(result.failures)}", err=True)
        sys.exit(EXIT_INVALID)
    except ModelInvalid as err:
        _print_problems(folder, err, as_json)
        sys.exit(EXIT_INVALID)
    except ServiceError as err:
        _fail(err, as_json)
    _emit(as_json, {"version": version.id, "process": version.process_id, "hash": version.content_hash,
                    "tests": len(report.results)},
          f"deployed {folder} as version {version.id} of {version.process_id} "
          f"({version.content_hash[:12]}, {len(report.results)} test case(s) passed)")


def _print_problems(folder: Path, err: ModelInvalid, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"error": "ModelInvalid", "problems": [p.as_dict() for p in err.problems]},
                              ensure_ascii=False, indent=2), err=True)
        return
    for problem in err.problems:
        click.echo(f"{folder / problem.file if problem.file != '(bundle)' else folder}:"
                   f"{problem.line or ''}: [{problem.element_id or '-'}] {problem.message}"
                   + (f" (hint: {problem.hint})" if problem.hint else ""), err=True)


@main.command()
@click.option("--once", is_flag=True, help="Process what is due now and exit.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds to sleep when nothing is due.")
@pass_ctx
def worker(ctx: _Context, once: bool, poll: float) -> None:
    """Fire due timers (deadlines, warnings) and send queued e-mail. Run as many as you like."""
    import signal
    import threading

    from engine.complaints import evidence, notifications, timers
    from web import mail

    if once:
        result = timers.run_due(ctx.db)
        sent = notifications.send_pending(ctx.db, ctx.settings.smtp_url, ctx.settings.mail_sender,
                                          mail.renderer(ctx.settings))
        click.echo(f"fired {result.fired} timer(s) on {result.complaints} complaint(s); "
                   f"{result.failed} failed; {sent} e-mail(s) sent")
        cleaned = evidence.clean_pending(ctx.db, ctx.settings)
        click.echo(f"deleted {cleaned.files} expired pending upload(s) ({cleaned.bytes} bytes)")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo("timer worker running (Ctrl-C to stop)")
    timers.run_worker(ctx.db, ctx.settings, mail.renderer(ctx.settings), stop, poll)


@main.command("mail-intake")
@click.option("--once", is_flag=True, help="File the unseen messages once and exit.")
@click.option("--poll", default=30.0, show_default=True,
              help="Seconds between passes (the wait is cut short by IMAP IDLE when the server offers it).")
@pass_ctx
def mail_intake_cmd(ctx: _Context, once: bool, poll: float) -> None:
    """Read the complaints mailbox (IMAP_URL): new messages become complaints, replies contacts, each once."""
    import signal
    import threading

    from engine.complaints import mail_intake

    if not ctx.settings.imap_url:
        raise click.UsageError("set IMAP_URL, e.g. imap://complaints:password@mail.example.cn:143/INBOX")
    try:
        mailbox = mail_intake.parse_url(ctx.settings.imap_url)
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    secret = secret_key(ctx.settings)
    if once:
        imap = mail_intake.connect(mailbox)
        try:
            counts = mail_intake.poll_once(ctx.db, ctx.settings, secret, imap)
        finally:
            imap.logout()
        click.echo(f"{counts.complaint} complaint(s), {counts.contact} contact(s), {counts.ignored} ignored, "
                   f"{counts.refused} refused, {counts.seen} already filed")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo(f"mail intake reading {mailbox.user}@{mailbox.host}/{mailbox.folder} (Ctrl-C to stop)")
    mail_intake.run(ctx.db, ctx.settings, secret, ctx.settings.imap_url, stop, poll)


@main.command()
@click.option("--retry", "timer_id", help="Put this incident (a timer id) back in the queue.")
@click.option("--user", "username", help="The administrator or process owner acting (needed with --retry).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def incidents(ctx: _Context, timer_id: str | None, username: str | None, as_json: bool) -> None:
    """List timers whose firing failed after every retry; with --retry, queue one again once fixed."""
    from engine.complaints import timers

    try:
        if timer_id is not None:
            if username is None:
                raise click.UsageError("--retry needs --user (an administrator or process owner)")
            me = _actor(ctx, username)
            with UnitOfWork(ctx.db) as uow:
                timers.retry_incident(uow, me, timer_id)
            _emit(as_json, {"retried": timer_id}, f"timer {timer_id} is due again")
            return
        me = _actor(ctx, username)
        with UnitOfWork(ctx.db, write=False) as uow:
            found = timers.incidents(uow, me)
    except ServiceError as err:
        _fail(err, as_json)
    lines = [f"{i.id}  complaint {i.reference or i.complaint_id}  {i.element}"
             f"{f' ({i.task})' if i.task else ''}  {i.attempts} attempt(s)  "
             f"failed {i.failed_at.isoformat() if i.failed_at else '?'}\n    {i.error or ''}" for i in found]
    _emit(as_json, [vars(i) for i in found], "\n".join(lines) or "no incidents")


@main.command("clean-evidence")
@pass_ctx
def clean_evidence(ctx: _Context) -> None:
    """Delete uploads whose intake form was never recorded, older than PENDING_EVIDENCE_HOURS (the timer
    worker does this every few minutes too)."""
    from engine.complaints import evidence

    cleaned = evidence.clean_pending(ctx.db, ctx.settings)
    click.echo(f"deleted {cleaned.files} expired pending upload(s) ({cleaned.bytes} bytes)")


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
