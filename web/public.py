"""The public complaint form at /complain: customers file a complaint themselves, without signing in.

Chinese by default, English with `?lang=en`. Defences without a third-party captcha: the CSRF token of
every form, a hidden field a person leaves empty (robots fill it), rate limits per address and per
contact (Flask-Limiter: the web's limiter, see web/security.py), at most PUBLIC_MAX_FILES files of the
staff uploads' types and size, and a page of its own when a limit is hit. A valid form files the
complaint through `engine.complaints.self_service.submit` (channel `web`, received now); an invalid one
is shown again with everything typed (files must be chosen again: a browser cannot be handed them back).
"""
from __future__ import annotations

from flask import (
    Blueprint,
    Flask,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from limits import parse as parse_limit

from engine.complaints import evidence, self_service
from engine.complaints.intake import intake_form
from engine.errors import Code, InvalidInput
from engine.people.users import LOCALES
from forms.errors import FieldErrors, FormCode, error
from web.context import reading, state, writing
from web.i18n import field_errors, lang

bp = Blueprint("public", __name__)

#: The fields a customer fills in (names of the intake form's fields), in the page's order.
TEXT_FIELDS = ("customer_contact", "customer_name", "order_id", "description", "demand")
HONEYPOT = "website"
#: Files one submission may carry (each within the staff uploads' size: EVIDENCE_MAX_BYTES).
PUBLIC_MAX_FILES = 5
#: Defaults of the limits (app config PUBLIC_FORM_ADDRESS_LIMIT / PUBLIC_FORM_CONTACT_LIMIT): a customer
#: may correct a refused form several times; a flood from one address or about one contact is cut off.
ADDRESS_LIMIT = "20 per hour"
CONTACT_LIMIT = "5 per hour"
DONE = "public_submitted"
SUBMIT = "public.submit"


@bp.before_request
def _language() -> None:
    """Chinese unless the visitor chose English (`?lang=en`, kept for the visit)."""
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["locale"] = chosen
    else:
        session.setdefault("locale", "zh")


def _address_limit() -> str:
    return current_app.config.get("PUBLIC_FORM_ADDRESS_LIMIT", ADDRESS_LIMIT)


def _contact_limit() -> str:
    return current_app.config.get("PUBLIC_FORM_CONTACT_LIMIT", CONTACT_LIMIT)


def _contact_allowed(contact: str) -> bool:
    """Count one submission about this customer (however the number or address is written) against the
    per-contact limit; False once it is used up. Counted in the view, not by a key function of the limiter:
    reading the form there would swallow the 413 of an oversized form."""
    normal = self_service.normal_contact(contact[:200])
    if not normal:  # a form without a contact is refused anyway; the address's limit counts it
        return True
    limiter = current_app.extensions["sign_in_limiter"]
    return limiter.limiter.hit(parse_limit(_contact_limit()), "public-contact", normal)


@bp.errorhandler(429)
def _limited(err):
    return render_template("public/limited.html"), 429


def _categories(meta) -> list[tuple[str, str]]:
    """The intake form's categories as (value, title in the page language)."""
    prop = meta.form.schema.get("properties", {}).get("category", {}) if meta else {}
    values = prop.get("enum", [])
    titles = prop.get("x-enum-titles" if lang() == "zh" else "x-enum-titles-en") or values
    return list(zip(values, titles, strict=False))


def _page(given: dict, errors: dict[str, list[str]], status: int = 200):
    with reading() as uow:
        meta = intake_form(uow, state().settings.process_id)
    props = meta.form.schema.get("properties", {}) if meta else {}
    return render_template("public/complain.html", given=given, errors=errors, categories=_categories(meta),
                           max_files=PUBLIC_MAX_FILES, honeypot=HONEYPOT,
                           max_lengths={k: props.get(k, {}).get("maxLength") for k in TEXT_FIELDS}), status


@bp.get("/complain")
def form():
    return _page({}, {})


def throttle(app: Flask) -> None:
    """Limit the form's posts per address with the app's limiter (web.security; call after
    `security.throttle_sign_in` made it); the per-contact limit is counted in the view."""
    limiter = app.extensions["sign_in_limiter"]
    app.view_functions[SUBMIT] = limiter.limit(_address_limit, methods=["POST"])(app.view_functions[SUBMIT])


@bp.post("/complain")
def submit():
    # Names the form does not have are ignored: only its own fields are read.
    given = {name: request.form.get(name, "") for name in (*TEXT_FIELDS, "category")}
    files = [f for f in request.files.getlist("files") if f.filename]
    if request.form.get(HONEYPOT):
        return _page(given, field_errors({"_form": [error(Code.NOT_BY_A_PERSON)]}), 422)
    if not _contact_allowed(given["customer_contact"]):
        return _limited(None)
    errors: FieldErrors = {name: [error(FormCode.ONE_VALUE_ONLY)] for name in given
                           if len(request.form.getlist(name)) > 1}
    if len(files) > PUBLIC_MAX_FILES:
        errors["evidence"] = [error(FormCode.TOO_MANY_ITEMS, max=PUBLIC_MAX_FILES)]
    if errors:  # refused already; the fields' own errors are shown too, so that one correction is enough
        with reading() as uow:
            errors = {**self_service.field_errors(uow, state().settings, given, "web"), **errors}
    else:
        uploads = [evidence.Upload(filename=f.filename or "", content=f.read()) for f in files]
        try:
            with writing() as uow:
                done = self_service.submit(uow, state().settings, current_app.secret_key, given, "web", lang(),
                                           uploads)
        except InvalidInput as err:
            errors = dict(err.errors)
        else:
            # A repeat's link is not shown: the form proves nobody's identity (self_service.Submitted).
            session[DONE] = {"reference": done.reference, "link": None if done.repeat else done.link,
                             "repeat": done.repeat, "mailed": done.link_mailed}
            return redirect(url_for("public.submitted"))
    if files:
        errors.setdefault("evidence", []).append(error(Code.CHOOSE_AGAIN))
    return _page(given, field_errors(errors), 422)


@bp.get("/complain/done")
def submitted():
    """The reference and the private link of a new complaint, shown once after a submission (a reload shows the
    form); a repeat shows the reference only."""
    done = session.pop(DONE, None)
    if not done:
        return redirect(url_for("public.form"))
    return render_template("public/done.html", done=done)
