"""Error pages: every refusal is a translated page with the right status, never a stack trace."""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc
from werkzeug.exceptions import HTTPException, InternalServerError

from engine.db import is_unavailable
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from web import customer
from web.i18n import field_errors, message

log = logging.getLogger(__name__)

#: Title and explanation of each status.
PAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    403: (_l("Not allowed"), _l("Your role does not allow this. "
                                "If you think it should, ask your manager.")),
    404: (_l("Not found"), _l("There is nothing here. It may never have existed, or the address is wrong.")),
    405: (_l("Not allowed"), _l("This address does not accept this kind of request.")),
    409: (_l("Already handled"), _l("Someone else has already handled this, or it has changed since you "
                                    "opened it. Nothing was changed.")),
    413: (_l("Too large"), _l("What you sent is too large. Send fewer or smaller files.")),
    422: (_l("Not accepted"), _l("Some of what you entered was not accepted.")),
    500: (_l("Something went wrong"), _l("The server failed to do this. Nothing was changed; please try "
                                         "again later. If it happens again, tell the administrator.")),
}
RETRY_AFTER_SECONDS = "10"
CSRF_PAGE = (_l("The form has expired"), _l("Your session ended or the form is too old. Go back, reload "
                                            "the page and send it again."))


def error_page(status: int, detail: str | None = None):
    """The error page for `status` as a response tuple."""
    title, text = PAGES.get(status, PAGES[500])
    return render_template("error.html", status=status, title=title, text=text, detail=detail), status


def init_app(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def _not_found(err):
        return error_page(404, message(err))

    @app.errorhandler(Forbidden)
    def _forbidden(err):
        return error_page(403, message(err))

    @app.errorhandler(Conflict)
    def _conflict(err):
        return error_page(409, message(err))

    @app.errorhandler(InvalidInput)
    def _invalid(err):
        return error_page(422, " ".join(text for texts in field_errors(err.errors).values() for text in texts))

    @app.errorhandler(CSRFError)
    def _csrf(err):
        title, text = CSRF_PAGE
        return render_template("error.html", status=400, title=title, text=text, detail=None), 400

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        if err.code == 404 and customer.is_customer_path(request.path):
            return customer.not_found_page()  # a mangled customer link: the customer's page, not the staff's
        return error_page(err.code or 500)

    @app.errorhandler(exc.DBAPIError)
    @app.errorhandler(exc.TimeoutError)  # the connection pool waited in vain
    def _database(err):
        if not is_unavailable(err):
            raise err
        log.warning("database unavailable: %s", err)
        # Straight from the Jinja environment: context processors (signed-in user, locale) need the database.
        page = app.jinja_env.get_template("unavailable.html").render()
        return page, 503, {"Retry-After": RETRY_AFTER_SECONDS}

    @app.errorhandler(InternalServerError)
    def _internal(err):
        log.error("unhandled error", exc_info=err.original_exception)
        return error_page(500)
