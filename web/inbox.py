"""The signed-in user's notifications (deadline warnings, escalations, deferral decisions…)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from engine.complaints import inbox
from web import mail
from web.context import actor, page_number, reading
from web.i18n import lang, tz

bp = Blueprint("inbox", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


@bp.get("/notifications")
def index():
    with reading() as uow:
        page = inbox.messages(uow, actor(), page=page_number())
    texts = {n.id: mail.render(n.kind, n.params, lang(), tz()) for n, _reference in page.items}
    return render_template("inbox.html", page=page, texts=texts)
