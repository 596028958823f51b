"""The models pages' blueprint: who may use them (process owners and administrators), the upload limit, the
labels of where a version came from, and model files served as data."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    jsonify,
    request,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from engine.modelling import deployment as modelling
from engine.modelling import uploads as process_models
from web.context import actor
from web.errors import error_page

bp = Blueprint("modelling", __name__, url_prefix="/models")

#: Where a version came from (`engine.workflow.deploy.SOURCES`), as the models pages say it.
SOURCE_LABELS = {
    "startup": _l("start-up (workflows/ folder)"), "modeller": _l("modeller"), "upload": _l("upload"),
    "api": _l("API"), "cli": _l("command line"),
}


def model_file_response(text: str, filename: str, download: bool = True) -> Response:
    """A model file as data, never as a page: text/plain, not sniffed, under a CSP that sandboxes it (and a
    download unless `download` is False), so that markup inside a version stored before deploying refused
    it cannot run in the reader's session. The diagram viewer fetches it as text."""
    safe_name = "".join(c for c in filename if c.isalnum() or c in "._-") or "model.txt"
    headers = {"Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff"}
    headers["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{safe_name}"'
    return Response(text, mimetype="text/plain; charset=utf-8", headers=headers)


@bp.context_processor
def _source_labels() -> dict:
    return {"source_labels": SOURCE_LABELS}

#: A request to these pages may carry a zipped bundle; anything larger is refused before it is read.
MAX_UPLOAD = process_models.MAX_BUNDLE_BYTES + 1024 * 1024


@bp.url_value_preprocessor
def _limit_body(_endpoint, _values) -> None:
    # Runs before the app's before_request hooks (CSRF reads the form there), so the limit applies
    # before any of the body is read.
    request.max_content_length = MAX_UPLOAD


@bp.before_request
@login_required
def _modellers_only():
    if not modelling.may_manage(actor()):
        return error_page(403)
    return None


@bp.app_context_processor
def _nav() -> dict:
    return {"can_model": current_user.is_authenticated and modelling.may_manage(current_user.actor)}


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_err):
    detail = _("The upload is larger than %(size)s MB, the limit for model files. Nothing was stored.",
               size=MAX_UPLOAD // (1024 * 1024))
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify(error=detail), 413
    return error_page(413, detail)
