"""The automatic first classification on the staff side: shown to the agent at the validity check with the
words that matched, confirmed or changed there (`engine.complaints.classify.decide`)."""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine.complaints import casework, classify
from engine.complaints.intake import intake_form
from engine.errors import InvalidInput
from web.context import actor, reading, state, writing
from web.i18n import field_errors
from web.present import enum_label

bp = Blueprint("classification", __name__)
_TASK_ID = re.compile(r"[0-9a-f-]{1,36}")


def suggestion_for(view: casework.TaskView) -> dict | None:
    """What the task page shows of the suggestion: only at the validity check, and only when one was made."""
    if view.row.name != classify.REVIEW_TASK:
        return None
    with reading() as uow:
        row = classify.of_complaint(uow.session, view.complaint.id)
        form = intake_form(uow, state().settings.process_id)
    if row is None or row.category is None:
        return None
    categories = form.form.schema.get("properties", {}).get("category", {}).get("enum", []) if form else []
    return {"row": row, "form": form.form if form else None, "categories": categories,
            "current": view.complaint.category,
            "category_words": list(dict.fromkeys(m["word"] for m in row.matched if m["for"] == "category")),
            "level_words": list(dict.fromkeys(m["word"] for m in row.matched if m["for"] == "level"))}


@bp.post("/complaints/<int:complaint_id>/classification")
@login_required
def decide(complaint_id: int):
    """Confirm or change the suggested category; back to the validity check."""
    classify.check_can_decide(actor())  # the role first: a refused role learns nothing about the input
    task_id = request.form.get("task", "")
    if not _TASK_ID.fullmatch(task_id) or set(request.form) - {"task", "category", "csrf_token"}:
        abort(400)
    category = request.form.get("category", "")
    try:
        with writing() as uow:
            kept = classify.decide(uow, actor(), complaint_id, category)
    except InvalidInput as err:
        for messages in field_errors(err.errors).values():
            for message in messages:
                flash(message, "error")
    else:
        with reading() as uow:
            form = intake_form(uow, state().settings.process_id)
        name = enum_label(form.form if form else None, "category", category)
        flash(_("Category confirmed: %(category)s.", category=name) if kept
              else _("Category changed to %(category)s.", category=name), "success")
    return redirect(url_for("tasks.show", task_id=task_id))
