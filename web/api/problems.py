"""Errors as `application/problem+json` (RFC 9457): type, title, status, detail, and for 422 the
field errors as `errors: {field: [messages]}`.

An engine refusal also carries its `code` and `params` (and for 422 `field_errors: {field: [{code, params}]}`);
`detail` and `errors` are those codes worded in the request's language (`Accept-Language`, else English)."""
from __future__ import annotations

import json
import logging

from flask import Response, request
from werkzeug.exceptions import HTTPException

from engine.db import is_unavailable
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError
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


def refusal(status: int, err: ServiceError) -> Response:
    """The problem document of an engine refusal, worded in the request's language."""
    say = messages.in_locale(request.accept_languages.best_match(LOCALES, default=API_LOCALE))
    extra: dict = {"code": str(err.code), "params": err.params}
    if isinstance(err, InvalidInput):
        extra.update(errors=messages.field_texts(err.errors, say), field_errors=messages.as_dicts(err.errors))
    return problem(status, messages.error_text(err, say), **extra)


def flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested error messages as {"field.sub": [messages]}."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "_body": list(messages)}
    if isinstance(messages, list):
        flat = {}
        for item in messages:
            for key, value in flatten(item, prefix).items():
                flat.setdefault(key, []).extend(value)
        return flat
    return {prefix or "_body": [str(messages)]}


def register(blueprint) -> None:
    """Answer every error raised in the blueprint's views as a problem document."""

    @blueprint.errorhandler(NotFound)
    def _not_found(err):
        return refusal(404, err)

    @blueprint.errorhandler(Forbidden)
    def _forbidden(err):
        return refusal(403, err)

    @blueprint.errorhandler(Conflict)
    def _conflict(err):
        return refusal(409, err)

    @blueprint.errorhandler(InvalidInput)
    def _invalid(err):
        return refusal(422, err)

    @blueprint.errorhandler(ModelInvalid)
    def _model_invalid(err):
        return problem(422, "The model cannot be deployed.", errors={"files": [str(p) for p in err.problems]},
                       problems=[p.as_dict() for p in err.problems])

    @blueprint.errorhandler(ModelTestsFailed)
    def _model_tests_failed(err):
        failed = [r for r in err.results if not r.passed]
        return problem(422, "The model's own test cases fail; nothing was deployed.",
                       errors={"tests": [f"{r.file} / {r.name}: {'; '.join(r.failures)}" for r in failed]})

    @blueprint.errorhandler(HTTPException)
    def _http(err: HTTPException):
        return problem(err.code or 500, err.description)

    @blueprint.errorhandler(Exception)
    def _unexpected(err):
        if is_unavailable(err):
            return problem(503, "The database cannot be reached right now; nothing was changed. Try again.",
                           headers={"Retry-After": "10"})
        log.exception("unhandled API error")
        return problem(500, "The server failed to do this; please try again later.")
