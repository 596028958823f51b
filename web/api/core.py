"""The API's blueprint and its one way of declaring an operation.

`operation` registers a route and records what it takes and returns, so that parsing, token
authentication, serialisation and the OpenAPI document all come from the same declaration.
Views receive parsed `query` / `body` values and return plain data (or a `Reply`).
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import MethodNotAllowed, RequestEntityTooLarge
from werkzeug.exceptions import NotFound as RouteNotFound

from engine.people import tokens as api_tokens
from engine.people.roles import Actor
from web.api import problems
from web.context import state

PREFIX = "/api/v1"
#: A JSON body larger than this is refused (413) before it is read.
MAX_JSON_BODY = 1024 * 1024
JSON_TYPE = "application/json"
#: What a read-only token may do.
READ_METHODS = ("GET",)

bp = Blueprint("api", __name__, url_prefix=PREFIX)
problems.register(bp)


@dataclass(frozen=True)
class Operation:
    """What one route takes and gives, for parsing and for the OpenAPI document."""

    rule: str
    method: str
    view: Callable
    summary: str
    tag: str
    description: str = ""
    query: type[ma.Schema] | None = None
    #: A schema class, a raw JSON Schema dict (free-form objects) or "multipart" (file upload).
    body: Any = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    auth: bool = True
    max_body: int = MAX_JSON_BODY
    #: The response is a list of `response` items.
    many: bool = False
    #: The role check, made before anything is read from the request (so that a refusal never depends on
    #: the body): called with the actor and the path arguments; raises Forbidden or NotFound.
    permits: Callable[..., None] | None = None


OPERATIONS: list[Operation] = []


@dataclass(frozen=True)
class Reply:
    """A view's answer when it needs a status or headers other than the operation's defaults."""

    data: Any
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)


def actor() -> Actor:
    """The user the request's token belongs to."""
    return g.api_actor


def operation(rule: str, method: str, *, summary: str, tag: str, **options) -> Callable:
    """Declare an API operation (see `Operation` for the options)."""

    def decorate(view: Callable) -> Callable:
        op = Operation(rule=rule, method=method, view=view, summary=summary, tag=tag, **options)
        OPERATIONS.append(op)

        @wraps(view)
        def handle(**path_args):
            request.max_content_length = op.max_body
            if op.auth:
                failure = _authenticate()
                if failure is not None:
                    return failure
                if g.api_read_only and op.method not in READ_METHODS:
                    return problems.problem(403, "This token may only read: use a token that is not read-only.")
            if op.permits is not None:
                op.permits(actor(), **path_args)
            kwargs = dict(path_args)
            if op.query is not None:
                kwargs["query"] = _load(op.query(), _query_args(), "query")
            if op.body is not None and op.body != "multipart":
                kwargs["body"] = _parse_body(op)
            return _respond(op, view(**kwargs))

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=handle, methods=[method])
        return view

    return decorate


class BadRequest(Exception):
    """The request could not be read (answered 400, 415 or 422 by `_request_problem`)."""

    def __init__(self, status: int, detail: str, errors: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


@bp.errorhandler(BadRequest)
def _request_problem(err: BadRequest):
    if err.errors is not None:
        return problems.problem(err.status, err.detail, errors=err.errors)
    return problems.problem(err.status, err.detail)


def _authenticate() -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found = None
    if scheme.lower() == "bearer" and token.strip():
        found = api_tokens.grant(state().db, token.strip())
    if found is None:
        return problems.problem(401, "Give a valid API token: Authorization: Bearer <token>.",
                                headers={"WWW-Authenticate": 'Bearer realm="complaints"'})
    g.api_actor = found.actor
    g.api_read_only = found.read_only
    return None


def _query_args() -> dict[str, str]:
    args: dict[str, str] = {}
    repeated = {}
    for name in request.args:
        values = request.args.getlist(name)
        if len(values) > 1:
            repeated[name] = ["give this parameter once"]
        args[name] = values[0]
    if repeated:
        raise BadRequest(422, "Some query parameters were not accepted.", repeated)
    _check_text(args, "")
    return args


def _parse_body(op: Operation):
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge as err:
        raise BadRequest(413, f"The body is larger than {op.max_body} bytes.") from err
    if not raw.strip():
        raise BadRequest(422, "The request has no body.", {"_body": ["send a JSON object"]})
    if request.mimetype != JSON_TYPE and not request.mimetype.endswith("+json"):
        raise BadRequest(415, f"Send the body as {JSON_TYPE}.")
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError) as err:
        raise BadRequest(400, f"The body is not valid JSON: {err}"[:300]) from err
    _check_text(data, "")
    if isinstance(op.body, dict):
        if not isinstance(data, dict):
            raise BadRequest(422, "The body must be a JSON object.", {"_body": ["send a JSON object"]})
        return data
    return _load(op.body(), data, "body")


def _check_text(value, path: str) -> None:
    """Refuse NUL characters anywhere in what was sent: no text column can store them (PostgreSQL)."""
    bad: dict[str, list[str]] = {}

    def walk(item, where: str) -> None:
        if isinstance(item, str):
            if "\x00" in item:
                bad.setdefault(where or "_body", []).append("the text contains a NUL character")
        elif isinstance(item, dict):
            for key, sub in item.items():
                walk(key, where)
                walk(sub, f"{where}.{key}" if where else str(key))
        elif isinstance(item, list):
            for sub in item:
                walk(sub, where)

    walk(value, path)
    if bad:
        raise BadRequest(422, "Some fields were not accepted.", bad)


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _load(schema: ma.Schema, data, where: str):
    try:
        return schema.load(data)
    except ma.ValidationError as err:
        raise BadRequest(422, f"Some {where} fields were not accepted.",
                         problems.flatten(err.messages)) from err
    except RecursionError as err:
        raise BadRequest(400, "The body is nested too deeply.") from err


def _respond(op: Operation, result) -> Response:
    reply = result if isinstance(result, Reply) else Reply(result)
    status = reply.status or op.status
    if status == 204:
        return Response(status=204, headers=reply.headers)
    data = reply.data
    if op.response is not None and not isinstance(op.response, dict):
        data = op.response(many=op.many).dump(data)
    return Response(json.dumps(data, ensure_ascii=False, default=str), status=status, mimetype=JSON_TYPE,
                    headers=reply.headers)


@bp.route("/", methods=["GET"])
def index():
    """Where the API's description is."""
    return Response(json.dumps({"openapi": f"{PREFIX}/openapi.json"}), mimetype=JSON_TYPE)


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@bp.route("/<path:rest>", methods=[*_METHODS, "HEAD", "OPTIONS"])
def unknown(rest: str):
    """Anything else under the prefix: 405 when the path exists with another method, else 404."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in _METHODS:
        try:
            endpoint, _args = adapter.match(method=method)
        except (RouteNotFound, MethodNotAllowed):
            continue
        if endpoint != "api.unknown":
            allowed.append(method)
    if allowed:
        return problems.problem(405, f"Use {', '.join(allowed)}.", headers={"Allow": ", ".join(allowed)})
    return problems.problem(404, "There is no such API resource.")
