"""The signed-in user's notifications (deadline warnings, escalations, deferral decisions…)."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _

from engine.complaints import inbox
from web import mail
from web.context import actor, page_number, reading, staff_blueprint, writing
from web.forms import ActionForm
from web.i18n import lang, tz

bp = staff_blueprint("inbox", __name__)


@bp.get("/notifications")
def index():
    with reading() as uow:
        page = inbox.messages(uow, actor(), page=page_number())
    texts = {n.id: mail.render(n.kind, n.params, lang(), tz()) for n, _reference in page.items}
    return render_template("inbox.html", page=page, texts=texts, action_form=ActionForm(), me=actor())


@bp.post("/notifications/<int:notification_id>/open")
def open_message(notification_id: int):
    """Open a notification: it is read from now on; its complaint is shown (else the list again)."""
    with writing() as uow:
        complaint_id = inbox.open_message(uow, actor(), notification_id)
    if complaint_id is None:
        return redirect(url_for("inbox.index"))
    return redirect(url_for("complaints.show", complaint_id=complaint_id))


@bp.post("/notifications/read")
def mark_all_read():
    """Mark every notification read."""
    with writing() as uow:
        count = inbox.mark_all_read(uow, actor())
    flash(_("%(count)s notifications marked read.", count=count), "success")
    return redirect(url_for("inbox.index"))
