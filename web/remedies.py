"""Remedies on the complaint page: start tracking a refund, return, re-shipment or courier claim, and move it
on (refund paid, parcel received, claim paid or refused). Bad input is named field by field above the section."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from engine.complaints import remedies
from engine.errors import InvalidInput
from web import labels
from web.context import actor, staff_blueprint, writing
from web.i18n import field_errors

bp = staff_blueprint("remedies", __name__)

#: The form's fields (what `remedies.add` reads).
FIELDS = ("kind", "amount", "waybill", "courier", "promised_on", "note")


def _back(complaint_id: int):
    return redirect(url_for("complaints.show", complaint_id=complaint_id, _anchor="remedies"))


def _refused(err: InvalidInput, complaint_id: int):
    for name, texts in field_errors(err.errors).items():
        field = labels.label(labels.REMEDY_FIELDS, name) or name
        flash(f"{field}: {' '.join(texts)}", "error")
    return _back(complaint_id)


@bp.post("/complaints/<int:complaint_id>/remedies")
def add(complaint_id: int):
    """Start tracking a remedy of the complaint."""
    data = {name: request.form.get(name, "") for name in FIELDS}
    try:
        with writing() as uow:
            remedies.add(uow, actor(), complaint_id, data)
    except InvalidInput as err:
        return _refused(err, complaint_id)
    flash(_("Remedy recorded."), "success")
    return _back(complaint_id)


@bp.post("/complaints/<int:complaint_id>/remedies/<int:remedy_id>")
def change(complaint_id: int, remedy_id: int):
    """Move a remedy to another state (with the day it was done and, for parcels, the waybill)."""
    try:
        with writing() as uow:
            remedies.change_state(uow, actor(), complaint_id, remedy_id, request.form.get("state", ""),
                                  request.form.get("done_on") or None, request.form.get("waybill") or None)
    except InvalidInput as err:
        return _refused(err, complaint_id)
    flash(_("Remedy updated."), "success")
    return _back(complaint_id)
