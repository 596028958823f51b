"""The OpenAPI 3 document of the API, built from the declared operations and their schemas."""
from __future__ import annotations

import json
import re
from functools import cache

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response

from engine.models.base import MAX_ROW_ID
from web.api import schemas
from web.api.core import JSON_TYPE, OPERATIONS, PREFIX, READ_METHODS, Operation, bp
from web.api.problems import MEDIA_TYPE

TITLE = "Complaints API"
VERSION = "1.0.0"
_PARAM = re.compile(r"<(?:(?P<converter>[a-z]+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")
_PHRASES = {200: "OK", 201: "Created", 204: "No content", 400: "The request could not be read",
            401: "No valid API token", 403: "The caller's role does not allow this",
            404: "Not found", 405: "Method not allowed",
            409: "Conflict: already handled or changed meanwhile",
            413: "Request body too large", 415: "Unsupported media type", 422: "Invalid input"}


def _path(rule: str) -> tuple[str, list[dict]]:
    """A Flask rule as an OpenAPI path with its path parameters."""
    params = []
    for match in _PARAM.finditer(rule):
        converter, name = match["converter"] or "string", match["name"]
        if converter == "int":
            schema = {"type": "integer", "minimum": 0}
            limit = re.search(r"max=(\d+)", match["args"] or "")
            schema["maximum"] = int(limit[1]) if limit else MAX_ROW_ID  # web.security.RowIdConverter
        elif converter == "any":
            schema = {"type": "string", "enum": [a.strip() for a in match["args"].split(",")]}
        else:
            schema = {"type": "string", "pattern": "^[^/]+$"}
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
    return PREFIX + _PARAM.sub(lambda m: "{" + m["name"] + "}", rule), params


def _errors(op: Operation) -> list[int]:
    codes = set(op.errors)
    if op.auth:
        codes.add(401)
        if op.method not in READ_METHODS:
            codes.add(403)  # a read-only token
    if op.query is not None or op.body is not None:
        codes.add(422)
    if op.body is not None:
        codes.update((400, 413, 415))
    return sorted(codes)


def _operation(op: Operation, path_params: list[dict]) -> dict:
    doc: dict = {"operationId": op.view.__name__, "summary": op.summary, "tags": [op.tag],
                 "parameters": list(path_params), "responses": {}}
    if op.description:
        doc["description"] = op.description
    if op.query is not None:
        doc["parameters"].append({"in": "query", "schema": op.query})
    for name, description in op.headers.items():
        doc["parameters"].append({"in": "header", "name": name, "required": False, "description": description,
                                  "schema": {"type": "string", "minLength": 1, "maxLength": 200}})
    if op.body == "multipart":
        doc["requestBody"] = {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["files"], "additionalProperties": False,
            "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}}
    elif op.body is not None:
        doc["requestBody"] = {"required": True, "content": {JSON_TYPE: {"schema": op.body}}}
    if op.status == 204:
        doc["responses"]["204"] = {"description": _PHRASES[204]}
    else:
        schema = op.response if op.response is not None else {"type": "object"}
        if op.many:
            schema = {"type": "array", "items": schema}
        doc["responses"][str(op.status)] = {"description": _PHRASES.get(op.status, "OK"),
                                            "content": {JSON_TYPE: {"schema": schema}}}
    for code in _errors(op):
        doc["responses"][str(code)] = {"description": _PHRASES[code],
                                       "content": {MEDIA_TYPE: {"schema": schemas.ProblemResponse}}}
    if op.auth:
        doc["security"] = [{"bearerAuth": []}]
    return doc


@cache
def document() -> dict:
    """The whole OpenAPI document (built once: operations are fixed when the app is imported)."""
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Complaint handling: complaints, tasks, reports, process models and "
                                        "deferrals. Authenticate with a personal API token "
                                        "(`complaints tokens create`, or the API tokens page). Tokens expire "
                                        "and end with their user's password change or deactivation; a "
                                        "read-only token gets 403 on everything but GET. Every error is "
                                        "`application/problem+json` with a `code` and its `params` for "
                                        "programs (and for 422 `field_errors`, each field's codes); "
                                        "`detail` and `errors` word them in the language of "
                                        "`Accept-Language` (zh or en; English by default)."})
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    paths: dict[str, dict] = {}
    for op in OPERATIONS:
        path, params = _path(op.rule)
        paths.setdefault(path, {"params": params, "operations": {}})
        paths[path]["operations"][op.method.lower()] = _operation(op, params)
    for path, item in paths.items():
        spec.path(path=path, operations=item["operations"])
    return spec.to_dict()


@bp.route("/openapi.json", methods=["GET"])
def openapi_json():
    """The API's description, for people and tools (no token needed)."""
    return Response(json.dumps(document(), ensure_ascii=False), mimetype=JSON_TYPE)
