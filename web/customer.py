"""The customer's private page (no login): the complaint's status in plain words and, at the follow-up
step, the satisfaction survey. Reached only through the signed link; any fault in it is a plain 404."""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from engine.complaints import customer_link as surveys
from engine.complaints.casework import get_complaint
from engine.complaints.intake import intake_form
from engine.errors import Conflict, InvalidInput, NotFound
from engine.people.access import may_contribute
from engine.people.users import LOCALES
from forms.errors import FieldErrors
from web.context import actor, reading, state, writing
from web.i18n import field_errors, lang

bp = Blueprint("customer", __name__)

#: What the customer is told at each stage (`customerStage` of the open tasks or of the end event).
STAGES = {
    "received": _l("We have received your complaint."),
    "reviewing": _l("We are looking into your complaint."),
    "handling": _l("The responsible department is working on a solution for you."),
    "implementing": _l("The agreed solution is being carried out."),
    "follow_up": _l("We are checking with you whether the solution worked."),
    "closing": _l("Your complaint has been resolved and is being closed."),
    "resolved": _l("Your complaint has been resolved and closed. Thank you for your patience."),
    "answered": _l("We have answered your complaint and closed it."),
    "withdrawn": _l("You withdrew your complaint, and it is closed."),
    "closed": _l("Your complaint is closed."),
}
FORM_FIELDS = {"offer", "satisfied", "rating", "comment", "csrf_token"}


@bp.before_request
def _language() -> None:
    """`?lang=en` or `?lang=zh` switches the page language (kept for the visit)."""
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["locale"] = chosen


def customer_link(complaint) -> str:
    """A fresh private link for the complaint's customer (for staff pages to show)."""
    return surveys.link_url(current_app.secret_key, state().settings.public_base_url, complaint.id,
                            complaint.reference or "", complaint.customer_link_generation)


def is_customer_path(path: str) -> bool:
    """Whether `path` is one of the customer's pages (which never show staff navigation)."""
    return path.startswith(surveys.LINK_PATH)


def not_found_page():
    """The customer's own 404 (a bad, expired or revoked link), in the customer's language, with nothing
    of the staff site on it."""
    return render_template("customer/not_found.html"), 404


@bp.errorhandler(NotFound)
def _bad_link(_err):
    return not_found_page()


@bp.app_context_processor
def _globals() -> dict:
    return {"customer_link": customer_link}


@bp.route("/c/<token>")
def status(token: str):
    with reading() as uow:
        view = surveys.customer_view(uow, current_app.secret_key, token)
        intake = intake_form(uow, state().settings.process_id)
    return _page(token, view, intake)


@bp.route("/c/<token>/survey", methods=["POST"])
def answer(token: str):
    if set(request.form) - FORM_FIELDS:
        abort(400)
    satisfied = {"yes": True, "no": False}.get(request.form.get("satisfied", ""))
    rating_text = request.form.get("rating", "").strip()
    errors: FieldErrors = {}
    rating = None
    if rating_text:
        rating = int(rating_text) if rating_text.isdigit() and len(rating_text) < 3 else -1
    given = surveys.Answer(satisfied=satisfied, rating=rating, comment=request.form.get("comment", ""))
    try:
        with writing() as uow:
            surveys.submit_survey(uow, current_app.secret_key, token, request.form.get("offer", ""), given)
    except InvalidInput as err:
        errors = err.errors
    except Conflict:
        with reading() as uow:
            view = surveys.customer_view(uow, current_app.secret_key, token)
            intake = intake_form(uow, state().settings.process_id)
        return _page(token, view, intake, already=True), 409
    if errors:
        with reading() as uow:
            view = surveys.customer_view(uow, current_app.secret_key, token)
            intake = intake_form(uow, state().settings.process_id)
        return _page(token, view, intake, errors=field_errors(errors), given=given), 422
    return redirect(url_for("customer.status", token=token, thanks=1))


def _page(token: str, view: surveys.CustomerView, intake, errors=None, given=None, already=False):
    return render_template(
        "customer/status.html", token=token, view=view, stage=STAGES.get(view.stage, STAGES["handling"]),
        category_form=intake.form if intake else None, errors=errors or {}, given=given, already=already,
        thanks=request.args.get("thanks") == "1")


@bp.route("/complaints/<int:complaint_id>/customer-link")
@login_required
def staff_link(complaint_id: int):
    """The customer's link of a complaint, for the member of staff who gives it to them."""
    with reading() as uow:
        complaint = get_complaint(uow, actor(), complaint_id)
    return render_template("customer/link.html", complaint=complaint, link=customer_link(complaint),
                           can_revoke=may_contribute(actor()), email=surveys.contact_email(complaint))


@bp.get("/complaints/<int:complaint_id>/customer-link/qr.svg")
@login_required
def qr_code(complaint_id: int):
    """The customer's link as a QR code (SVG drawn here, so that the link never leaves this site)."""
    with reading() as uow:
        complaint = get_complaint(uow, actor(), complaint_id)
    import segno  # its tables cost 0.04 s to import; only this page draws a code

    out = io.BytesIO()
    segno.make(customer_link(complaint), error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    response = Response(out.getvalue(), mimetype="image/svg+xml")
    # Drawn for an <img>: nothing in it runs, and it may not be framed or opened as a document with scripts.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post("/complaints/<int:complaint_id>/customer-link/email")
@login_required
def email_link(complaint_id: int):
    """Send the customer's current link once more, to the e-mail address given as their contact."""
    with reading() as uow:
        complaint = get_complaint(uow, actor(), complaint_id)
    try:
        with writing() as uow:
            address = surveys.email_link(uow, actor(), complaint_id, customer_link(complaint),
                                         request.form.get("locale") if request.form.get("locale") in LOCALES
                                         else lang())
    except InvalidInput:
        flash(_("The customer's contact is not an e-mail address: give them the link another way."), "error")
        return redirect(url_for("customer.staff_link", complaint_id=complaint_id))
    flash(_("The link is on its way to %(address)s.", address=address), "success")
    return redirect(url_for("customer.staff_link", complaint_id=complaint_id))


@bp.post("/complaints/<int:complaint_id>/customer-link/revoke")
@login_required
def revoke_link(complaint_id: int):
    """End every link the customer was given (staff who work on the complaint); the link page shows a new one."""
    with writing() as uow:
        surveys.revoke_links(uow, actor(), complaint_id)
    flash(_("The customer's earlier links no longer work. Give them the new link if they need one."), "success")
    return redirect(url_for("customer.staff_link", complaint_id=complaint_id))
