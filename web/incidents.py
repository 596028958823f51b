"""Incidents: timers whose firing failed after every retry, for administrators and process owners to see
and, once the cause is fixed (a model corrected, a mail relay back), to put back in the queue; for
administrators also the mailbox's messages set aside after failing every attempt, and those it refused."""
from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from engine.complaints import incidents, mail_incidents, mail_limits, timers
from engine.db import UnitOfWork
from engine.people.roles import ADMIN, Actor
from web import messages
from web.context import actor, reading, staff_blueprint, state, writing
from web.forms import ActionForm

bp = staff_blueprint("incidents", __name__)

#: Why the mailbox refused a message (`engine.complaints.mail_limits.REASONS`), as administrators read it.
MAIL_REASONS = {
    mail_limits.INVALID_SENDER: _l("The sender's address is not a valid e-mail address."),
    mail_limits.INVALID_MESSAGE: _l("The message could not be taken as a complaint."),
    mail_limits.RATE_LIMITED: _l("Rate limited: this address had opened the most complaints allowed within an hour."),
    None: _l("Refused before reasons were recorded."),
}


@bp.app_context_processor
def _nav() -> dict:
    return {"can_handle_incidents": current_user.is_authenticated
            and current_user.actor.role in incidents.INCIDENT_ROLES}


@bp.get("/incidents")
def index():
    me = actor()
    with reading() as uow:
        items = incidents.incidents(uow, me)
        mail = mail_incidents.incidents(uow, me) if me.role == ADMIN else None
        refused = mail_incidents.refused(uow, me) if me.role == ADMIN else None
    return render_template("incidents/index.html", items=items, form=ActionForm(formdata=None),
                           max_attempts=timers.MAX_ATTEMPTS, mail=mail, refused=refused, reasons=MAIL_REASONS,
                           mail_max_attempts=state().settings.mail_max_attempts,
                           hourly_limit=state().settings.mail_sender_hourly_limit,
                           failure_text=lambda failure: messages.render(failure.code, failure.params, _))


@bp.post("/incidents/<timer_id>/retry")
def retry(timer_id: str):
    return _act(incidents.check_can_handle_incidents, lambda uow, me: incidents.retry_incident(uow, me, timer_id),
                _("The timer is back in the queue: the worker fires it within seconds."))


@bp.post("/incidents/mail/<int(max=2147483647):incident_id>/retry")
def retry_mail(incident_id: int):
    return _act(mail_incidents.check_can_handle, lambda uow, me: mail_incidents.retry(uow, me, incident_id),
                _("The message is queued again: the mailbox worker files it on its next pass."), anchor="mail")


@bp.post("/incidents/mail/<int(max=2147483647):incident_id>/dismiss")
def dismiss_mail(incident_id: int):
    return _act(mail_incidents.check_can_handle, lambda uow, me: mail_incidents.dismiss(uow, me, incident_id),
                _("The message was dismissed: it stays in the mailbox, read, and is not filed."), anchor="mail")


def _act(check: Callable[[Actor], None], action: Callable[[UnitOfWork, Actor], object], done: str,
         anchor: str | None = None):
    """One button of the page: the role first (a refusal never depends on the body), then the form's token,
    the action in one unit of work, and back to the page with what happens next."""
    check(actor())
    if not ActionForm().validate_on_submit():
        abort(400)
    with writing() as uow:
        action(uow, actor())
    flash(done, "success")
    return redirect(url_for("incidents.index", _anchor=anchor))
