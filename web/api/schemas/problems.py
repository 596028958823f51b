"""The API's refusals: problem documents (RFC 9457) with their codes and field errors."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields


class FieldErrorDoc(Schema):
    code = fields.String(required=True)
    params = fields.Dict(required=True)


class ProblemResponse(Schema):
    class Meta:
        unknown = INCLUDE  # a problem may carry more members (e.g. a model's `problems`)

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "each field's errors, worded like `detail`"})
    code = fields.String(metadata={"description": "what was refused and why, for programs (every refusal the "
                                                    "API makes itself; its words are `detail`)"})
    params = fields.Dict(metadata={"description": "the values the code's sentence needs"})
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FieldErrorDoc)),
                               metadata={"description": "each field's errors as codes"})
