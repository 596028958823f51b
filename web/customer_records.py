"""Customer records (顾客档案) for staff: the look-up the intake page makes as the number is typed (JSON), a
customer's page with their complaints and flag, and the merge of a duplicate record."""
from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.complaints import casework, customers
from engine.errors import InvalidInput
from forms.errors import FormCode, error
from web.context import actor, reading, staff_blueprint, state, writing

bp = staff_blueprint("customers", __name__)

#: Longest contact or platform id looked up (the intake form's own limits are lower).
MAX_KEY = 200


@bp.get("/customers/lookup")
def lookup():
    """The customer with the typed contact or platform id: {"customer": null} when there is none."""
    contact = request.args.get("contact", "")[:MAX_KEY]
    platform_id = request.args.get("platform_id", "")[:MAX_KEY]
    with reading() as uow:
        found = customers.look_up(uow, actor(), contact, platform_id)
    if found is not None:
        found["url"] = url_for("customers.show", customer_id=found["id"])
        for item in found["recent"]:
            item["url"] = url_for("complaints.show", complaint_id=item["id"])
    return jsonify(customer=found)


@bp.get("/customers/<int:customer_id>")
def show(customer_id: int):
    """The customer's record and every complaint of theirs the user may see."""
    with reading() as uow:
        view = customers.customer_view(uow, actor(), customer_id)
        intake = casework.intake_forms(uow, state().settings.process_id).get(casework.INTAKE)
    return render_template("customers/show.html", view=view, c=view.customer, intake=intake,
                           may_merge=customers.may_merge(actor()))


@bp.post("/customers/<int:customer_id>/merge")
def merge(customer_id: int):
    """Merge the record named in the form ("duplicate", its number) into this one."""
    customers.check_can_merge(actor())  # the role first: a refused role learns nothing about the input
    raw = request.form.get("duplicate", "").strip().lstrip("#")
    if not raw.isdigit():
        raise InvalidInput({"duplicate": [error(FormCode.NOT_A_NUMBER)]})
    with writing() as uow:
        kept = customers.merge(uow, actor(), customer_id, int(raw))
    flash(_("Customer record %(duplicate)s merged into this one.", duplicate=raw), "success")
    return redirect(url_for("customers.show", customer_id=kept.id))
