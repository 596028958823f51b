"""Running the system: `init` the database, `serve` the web UI, the `worker` (timers, e-mail),
`mail-intake`, `incidents` (timers that failed every retry) and `clean-evidence`."""
from __future__ import annotations

import click

from engine.bootstrap import DEMO_PASSWORD, init_system
from engine.db import UnitOfWork
from engine.errors import ServiceError
from engine.workflow.model_xml import ModelInvalid
from web.cli.shell import Context, actor_named, emit, fail, failure_words, incident_row, pass_ctx
from web.secret import secret_key


@click.command()
@click.option("--demo", is_flag=True, help="Also create the demo users and print their passwords.")
@pass_ctx
def init(ctx: Context, demo: bool) -> None:
    """Create or upgrade the database and deploy the models in workflows/."""
    try:
        users = init_system(ctx.db, ctx.settings, demo=demo, report=click.echo)
    except ModelInvalid as err:
        fail(err, False)
    click.echo(f"database ready: {ctx.db.engine.url.render_as_string(hide_password=True)}")
    if users:
        click.echo(f"demo users (password for all: {DEMO_PASSWORD}):")
        for user in users:
            dept = f" / {user.department}" if user.department else ""
            click.echo(f"  {user.username:<18} {user.role}{dept}  {user.display_name}")


@click.command()
@click.option("--once", is_flag=True, help="Process what is due now and exit.")
@click.option("--poll", default=2.0, show_default=True, help="Seconds to sleep when nothing is due.")
@pass_ctx
def worker(ctx: Context, once: bool, poll: float) -> None:
    """Fire due timers (deadlines, warnings) and send queued e-mail. Run as many as you like."""
    import signal
    import threading

    from engine.complaints import evidence, notifications, timer_worker, timers
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
    timer_worker.tune_collector()
    timer_worker.run_worker(ctx.db, ctx.settings, mail.renderer(ctx.settings), stop, poll)


@click.command("mail-intake")
@click.option("--once", is_flag=True, help="File the unseen messages once and exit.")
@click.option("--poll", default=30.0, show_default=True,
              help="Seconds between passes (the wait is cut short by IMAP IDLE when the server offers it).")
@pass_ctx
def mail_intake_cmd(ctx: Context, once: bool, poll: float) -> None:
    """Read the complaints mailbox (IMAP_URL): new messages become complaints, replies contacts, each once."""
    import signal
    import threading

    from engine.complaints import mailbox

    if not ctx.settings.imap_url:
        raise click.UsageError("set IMAP_URL, e.g. imap://complaints:password@mail.example.cn:143/INBOX")
    try:
        box = mailbox.parse_url(ctx.settings.imap_url)
    except ValueError as err:
        raise click.UsageError(str(err)) from err
    secret = secret_key(ctx.settings)
    if once:
        imap = mailbox.connect(box)
        try:
            counts = mailbox.poll_once(ctx.db, ctx.settings, secret, imap)
        finally:
            imap.logout()
        click.echo(f"{counts.complaint} complaint(s), {counts.contact} contact(s), {counts.ignored} ignored, "
                   f"{counts.refused} refused, {counts.seen} already filed, {counts.set_aside} set aside")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    click.echo(f"mail intake reading {box.user}@{box.host}/{box.folder} (Ctrl-C to stop)")
    mailbox.run(ctx.db, ctx.settings, secret, ctx.settings.imap_url, stop, poll)


@click.command()
@click.option("--retry", "timer_id", help="Put this incident (a timer id) back in the queue.")
@click.option("--user", "username", help="The administrator or process owner acting (needed with --retry).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def incidents(ctx: Context, timer_id: str | None, username: str | None, as_json: bool) -> None:
    """List timers whose firing failed after every retry; with --retry, queue one again once fixed."""
    from engine.complaints.incidents import incidents as failed_timers
    from engine.complaints.incidents import retry_incident

    try:
        if timer_id is not None:
            if username is None:
                raise click.UsageError("--retry needs --user (an administrator or process owner)")
            me = actor_named(ctx, username)
            with UnitOfWork(ctx.db) as uow:
                retry_incident(uow, me, timer_id)
            emit(as_json, {"retried": timer_id}, f"timer {timer_id} is due again")
            return
        me = actor_named(ctx, username)
        with UnitOfWork(ctx.db, write=False) as uow:
            found = failed_timers(uow, me)
    except ServiceError as err:
        fail(err, as_json)
    lines = [f"{i.id}  complaint {i.reference or i.complaint_id}  {i.element}"
             f"{f' ({i.task})' if i.task else ''}  {i.attempts} attempt(s)  "
             f"failed {i.failed_at.isoformat() if i.failed_at else '?'}\n    {failure_words(i.failure, i.error)}"
             for i in found]
    emit(as_json, [incident_row(i) for i in found], "\n".join(lines) or "no incidents")


@click.command("clean-evidence")
@pass_ctx
def clean_evidence(ctx: Context) -> None:
    """Delete uploads whose intake form was never recorded, older than PENDING_EVIDENCE_HOURS (the timer
    worker does this every few minutes too)."""
    from engine.complaints import evidence

    cleaned = evidence.clean_pending(ctx.db, ctx.settings)
    click.echo(f"deleted {cleaned.files} expired pending upload(s) ({cleaned.bytes} bytes)")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int, envvar="PORT", help="Also read from PORT.")
@click.option("--workers", default=1, show_default=True, type=int, help="gunicorn worker processes.")
@click.option("--threads", default=4, show_default=True, type=int, help="Threads per worker.")
@click.option("--no-timer-worker", is_flag=True,
              help="Do not fire timers in this process (run `complaints worker` instead).")
@pass_ctx
def serve(ctx: Context, host: str, port: int, workers: int, threads: int, no_timer_worker: bool) -> None:
    """Serve the staff web UI with gunicorn (deploys workflows/ first)."""
    from web.server import PortBusy
    from web.server import serve as run

    try:
        run(ctx.settings, host, port, workers, threads, timer_worker=not no_timer_worker)
    except PortBusy as err:
        raise click.ClickException(str(err)) from None
