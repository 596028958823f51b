"""The "API tokens" page: the signed-in user creates, sees and revokes their own tokens."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import Code, InvalidInput
from engine.people import tokens as api_tokens
from web.context import actor, reading, writing
from web.i18n import field_errors

bp = Blueprint("api_tokens", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


@bp.route("/account/api-tokens", methods=["GET"])
def index():
    return _page()


@bp.route("/account/api-tokens", methods=["POST"])
def create():
    unexpected = set(request.form) - {"name", "days", "read_only", "csrf_token"}
    if unexpected or any(len(request.form.getlist(field)) > 1 for field in request.form):
        abort(400)
    form = {"name": request.form.get("name", ""), "days": request.form.get("days", "").strip(),
            "read_only": request.form.get("read_only") == "1"}
    days = _days(form["days"])
    try:
        if days is None:
            raise InvalidInput.field("days", Code.CHOOSE_BETWEEN, min=1, max=api_tokens.MAX_DAYS)
        with writing() as uow:
            _id, token = api_tokens.create_token(uow, actor(), actor().username, form["name"], days=days,
                                                 read_only=form["read_only"])
    except InvalidInput as err:
        return _page(errors=field_errors(err.errors), form=form), 422
    # Shown once, on this answer only: it is not kept anywhere it could be shown again.
    return _page(new_token=token)


def _days(text: str) -> int | None:
    """The posted lifetime in days (empty: the default); None when it is not a whole number."""
    if not text:
        return api_tokens.DEFAULT_DAYS
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 4 else None


@bp.route("/account/api-tokens/<int:token_id>/revoke", methods=["POST"])
def revoke(token_id: int):
    with writing() as uow:
        api_tokens.revoke_token(uow, actor(), token_id)
    flash(_("The token was revoked."), "success")
    return redirect(url_for("api_tokens.index"))


def _page(new_token: str | None = None, errors: dict | None = None, form: dict | None = None):
    with reading() as uow:
        tokens = api_tokens.list_tokens(uow, actor())
    form = form or {"name": "", "days": str(api_tokens.DEFAULT_DAYS), "read_only": False}
    return render_template("api/tokens.html", tokens=tokens, new_token=new_token, errors=errors or {},
                           form=form, max_name=api_tokens.MAX_NAME, max_days=api_tokens.MAX_DAYS)
