"""Errors as `application/problem+json` (RFC 9457): type, title, status, detail, and for 422 the
field errors as `errors: {field: [messages]}`.

Every refusal carries its `code` and `params` (and for 422 `field_errors: {field: [{code, params}]}`) —
an engine refusal, a request the API could not read, a value its schemas refused (`web.api.validation`);
`detail` and `errors` are those codes worded in the request's language (`Accept-Language`, else English)."""
from __future__ import annotations

import json
import logging
from functools import partial

from flask import Response, request
from werkzeug.exceptions import HTTPException

from engine.db import is_unavailable
from engine.errors import Code, Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from engine.modelling.deployment import ModelTestsFailed
from engine.people.users import LOCALES
from engine.workflow.model_xml import ModelInvalid
from web import messages

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:complaints:problem:"
#: The language of `detail` when the request names none.
API_LOCALE = "en"

#: The problem type and title of each status.
KINDS = {
    400: ("bad-request", "The request could not be read"),
    401: ("unauthenticated", "Authentication is required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request body too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid", "Invalid input"),
    500: ("server-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


def problem(status: int, detail: str | None = None, *, headers: dict | None = None, **extra) -> Response:
    """A problem response of `status`; `extra` members are added to the document (e.g. `errors`)."""
    slug, title = KINDS.get(status, ("error", "Error"))
    body = {"type": TYPE_PREFIX + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status, mimetype=MEDIA_TYPE,
                    headers=headers)


def request_gettext() -> messages.Gettext:
    """`gettext` of the request's language (`Accept-Language`, else English)."""
    return messages.in_locale(request.accept_languages.best_match(LOCALES, default=API_LOCALE))


def refusal(status: int, err: ServiceError, *, headers: dict | None = None, **members) -> Response:
    """The problem document of a refusal, worded in the request's language (`members` added to it)."""
    say = request_gettext()
    extra: dict = {"code": str(err.code), "params": err.params, **members}
    if isinstance(err, InvalidInput):
        extra.update(errors=messages.field_texts(err.errors, say), field_errors=messages.as_dicts(err.errors))
    return problem(status, messages.error_text(err, say), headers=headers, **extra)


class Refused(ServiceError):
    """A request the API refuses before any use case sees it: `status` and a code (`web.api.core`)."""

    def __init__(self, status: int, code: str, /, headers: dict | None = None, **params) -> None:
        super().__init__(code, **params)
        self.status, self.headers = status, headers


#: The status of each kind of engine refusal.
STATUS_OF: dict[type[ServiceError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409, InvalidInput: 422}


def _refused_with(status: int, err: ServiceError) -> Response:
    return refusal(status, err)


def register(blueprint) -> None:
    """Answer every error raised in the blueprint's views as a problem document."""

    for kind, status in STATUS_OF.items():
        blueprint.register_error_handler(kind, partial(_refused_with, status))

    # Each problem inside a model keeps its code, params and place, worded like the rest of the document.
    @blueprint.errorhandler(ModelInvalid)
    def _model_invalid(err):
        say = request_gettext()
        found = [p.as_dict() for p in err.problems]
        return refusal(422, ServiceError(Code.MODEL_NOT_DEPLOYABLE, problems=len(err.problems)),
                       errors={"files": [messages.problem_line(p, say) for p in found]},
                       problems=[messages.problem_texts(p, say) for p in found])

    @blueprint.errorhandler(ModelTestsFailed)
    def _model_tests_failed(err):
        failed = [r for r in err.results if not r.passed]
        say = request_gettext()
        return refusal(422, ServiceError(Code.MODEL_TESTS_FAILED, failed=len(failed)),
                       errors={"tests": [f"{r.file} / {r.name}: "
                                         + "; ".join(messages.render(f.code, f.params, say) for f in r.failures)
                                         for r in failed]})

    @blueprint.errorhandler(Refused)
    def _refused(err: Refused):
        return refusal(err.status, err, headers=err.headers)

    @blueprint.errorhandler(HTTPException)
    def _http(err: HTTPException):
        return problem(err.code or 500, err.description)

    @blueprint.errorhandler(Exception)
    def _unexpected(err):
        if is_unavailable(err):
            return refusal(503, ServiceError(Code.DATABASE_UNAVAILABLE), headers={"Retry-After": "10"})
        log.exception("unhandled API error")
        return refusal(500, ServiceError(Code.SERVER_FAILED))
