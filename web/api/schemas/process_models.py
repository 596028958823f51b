"""What the API answers about process models: versions, deployments, check results."""
from __future__ import annotations

from marshmallow import Schema, fields


class VersionDoc(Schema):
    id = fields.Integer()
    process_id = fields.String()
    hash = fields.String()
    current = fields.Boolean()
    deployed_at = fields.AwareDateTime()
    deployed_by = fields.String()
    source = fields.String(metadata={"description": "how it came in: startup (the workflows/ folder), modeller, "
                                                    "upload, api, cli"})
    running = fields.Integer(metadata={"description": "open complaints on this version"})


class DeployedDoc(Schema):
    id = fields.Integer()
    process_id = fields.String()
    hash = fields.String(attribute="content_hash")
    current = fields.Boolean(attribute="is_current")
    deployed_at = fields.AwareDateTime()
    deployed_by = fields.String()
    source = fields.String()


class ProblemDoc(Schema):
    file = fields.String()
    line = fields.Integer(allow_none=True)
    element_id = fields.String(allow_none=True)
    code = fields.String(metadata={"description": "why the model is refused (a model problem code)"})
    params = fields.Dict(metadata={"description": "the values its sentence names"})
    message = fields.String(metadata={"description": "the code worded in the request's language"})
    hint = fields.String(allow_none=True, metadata={"description": "what to do, in the request's language"})
    detail = fields.String(allow_none=True, metadata={
        "description": "a library's own words (the XML parser's, the workflow engine's): technical, never part of "
                       "message"})


class CaseDoc(Schema):
    file = fields.String()
    name = fields.String()
    passed = fields.Boolean()
    failures = fields.List(fields.String(), metadata={"description": "why it failed, in the request's language"})
    failure_codes = fields.List(fields.Dict(), metadata={"description": "the same as {code, params}"})


class CheckDoc(Schema):
    valid = fields.Boolean()
    process_id = fields.String(allow_none=True)
    content_hash = fields.String(allow_none=True)
    problems = fields.List(fields.Nested(ProblemDoc))
    test_results = fields.List(fields.Nested(CaseDoc))
    ignored = fields.List(fields.String(),
                          metadata={"description": "uploaded names that are not model files"})
    files = fields.List(fields.String(), metadata={"description": "the bundle that was checked"})
