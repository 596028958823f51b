"""The general manager's decisions on deferral requests (投诉延期处理申请).

Requests are filed from the task page (see `web.tasks.request_deferral`)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.complaints import deferrals
from engine.people.access import check_can_decide_deferrals
from web.context import actor, reading, staff_blueprint, writing
from web.forms import DecisionForm

bp = staff_blueprint("deferrals", __name__)
DECISIONS = {"approve": True, "reject": False}


@bp.get("/deferrals")
def index():
    with reading() as uow:
        items = deferrals.decision_queue(uow, actor())
    return render_template("deferrals/index.html", items=items, form=DecisionForm(formdata=None))


@bp.post("/deferrals/<int:deferral_id>")
def decide(deferral_id: int):
    check_can_decide_deferrals(actor())  # the role first: a refusal never depends on the body
    form = DecisionForm()
    pressed = request.form.getlist("decision")  # the button: exactly one, never a guess between two
    if len(pressed) != 1 or pressed[0] not in DECISIONS or not form.validate_on_submit():
        abort(400)
    approve = DECISIONS[pressed[0]]
    with writing() as uow:
        deferrals.decide_deferral(uow, actor(), deferral_id, approve, form.note.data or "")
    flash(_("Deferral approved: the deadline has moved.") if approve
          else _("Deferral rejected: the deadline stays."), "success")
    return redirect(url_for("deferrals.index"))
