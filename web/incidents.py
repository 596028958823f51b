"""Incidents: timers whose firing failed after every retry, for administrators and process owners to see
and, once the cause is fixed (a model corrected, a mail relay back), to put back in the queue."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from engine.complaints import incidents, timers
from web.context import actor, reading, staff_blueprint, writing
from web.forms import ActionForm

bp = staff_blueprint("incidents", __name__)


@bp.app_context_processor
def _nav() -> dict:
    return {"can_handle_incidents": current_user.is_authenticated
            and current_user.actor.role in incidents.INCIDENT_ROLES}


@bp.get("/incidents")
def index():
    with reading() as uow:
        items = incidents.incidents(uow, actor())
    return render_template("incidents/index.html", items=items, form=ActionForm(formdata=None),
                           max_attempts=timers.MAX_ATTEMPTS)


@bp.post("/incidents/<timer_id>/retry")
def retry(timer_id: str):
    incidents.check_can_handle_incidents(actor())  # the role first: a refusal never depends on the body
    if not ActionForm().validate_on_submit():
        abort(400)
    with writing() as uow:
        incidents.retry_incident(uow, actor(), timer_id)
    flash(_("The timer is back in the queue: the worker fires it within seconds."), "success")
    return redirect(url_for("incidents.index"))
