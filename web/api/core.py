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

from engine.errors import Code, InvalidInput, ServiceError
from engine.people import tokens as api_tokens
from engine.people.roles import Actor
from forms.errors import FieldErrors, FormCode, error
from web.api import problems, validation
from web.api.problems import Refused
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
                    raise Refused(403, Code.READ_ONLY_TOKEN)
            if op.permits is not None:
                op.permits(actor(), **path_args)
            kwargs = dict(path_args)
            if op.query is not None:
                kwargs["query"] = _load(op.query(), _query_args())
            if op.body is not None and op.body != "multipart":
                kwargs["body"] = _parse_body(op)
            return _respond(op, view(**kwargs))

        bp.add_url_rule(rule, endpoint=view.__name__, view_func=handle, methods=[method])
        return view

    return decorate


def _authenticate() -> Response | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    found = None
    if scheme.lower() == "bearer" and token.strip():
        found = api_tokens.grant(state().db, token.strip())
    if found is None:
        return problems.refusal(401, ServiceError(Code.API_TOKEN_NEEDED),
                                headers={"WWW-Authenticate": 'Bearer realm="complaints"'})
    g.api_actor = found.actor
    g.api_read_only = found.read_only
    return None


def _query_args() -> dict[str, str]:
    args: dict[str, str] = {}
    repeated: FieldErrors = {}
    for name in request.args:
        values = request.args.getlist(name)
        if len(values) > 1:
            repeated[name] = [error(FormCode.ONE_VALUE_ONLY)]
        args[name] = values[0]
    if repeated:
        raise InvalidInput(repeated)
    _check_text(args, "")
    return args


def _parse_body(op: Operation):
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge as err:
        raise Refused(413, Code.BODY_TOO_LARGE, max=op.max_body) from err
    if not raw.strip():
        raise InvalidInput.field("_body", FormCode.FORM_NOT_OBJECT)
    if request.mimetype != JSON_TYPE and not request.mimetype.endswith("+json"):
        raise Refused(415, Code.SEND_JSON, media_type=JSON_TYPE)
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except RecursionError as err:
        raise Refused(400, FormCode.NESTED_TOO_DEEPLY) from err
    except ValueError as err:
        raise Refused(400, Code.NOT_JSON, line=getattr(err, "lineno", 1)) from err
    _check_text(data, "")
    if isinstance(op.body, dict):
        if not isinstance(data, dict):
            raise InvalidInput.field("_body", FormCode.FORM_NOT_OBJECT)
        return data
    return _load(op.body(), data)


def _check_text(value, path: str) -> None:
    """Refuse NUL characters anywhere in what was sent: no text column can store them (PostgreSQL)."""
    bad: FieldErrors = {}

    def walk(item, where: str) -> None:
        if isinstance(item, str):
            if "\x00" in item:
                bad.setdefault(where or "_body", []).append(error(FormCode.NUL_CHARACTER))
        elif isinstance(item, dict):
            for key, sub in item.items():
                walk(key, where)
                walk(sub, f"{where}.{key}" if where else str(key))
        elif isinstance(item, list):
            for sub in item:
                walk(sub, where)

    walk(value, path)
    if bad:
        raise InvalidInput(bad)


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _load(schema: ma.Schema, data):
    try:
        return validation.load(schema, data)
    except RecursionError as err:
        raise Refused(400, FormCode.NESTED_TOO_DEEPLY) from err


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
        raise Refused(405, Code.USE_METHODS, headers={"Allow": ", ".join(allowed)}, methods=", ".join(allowed))
    raise Refused(404, Code.NO_SUCH_RESOURCE)
