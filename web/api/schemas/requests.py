"""What the API reads: query parameters and request bodies."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from engine.complaints.search import MAX_PER_PAGE
from engine.complaints.withdrawal import REASONS as WITHDRAWAL_REASONS
from engine.complaints.worklist import SCOPES, SORTS
from web import labels

MAX_TEXT = 4000
_page = dict(load_default=1, validate=validate.Range(min=1, max=1_000_000),
             metadata={"description": "page number, from 1"})
_per_page = dict(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                 metadata={"description": f"items per page (at most {MAX_PER_PAGE})"})


def _code(**kwargs):
    """A short code such as a level or a category (the model decides which codes exist)."""
    return fields.String(validate=validate.Length(min=1, max=40), **kwargs)


def _department(value: str) -> None:
    """A department of the departments table (the administrator adds them: docs/ARCHITECTURE.md, "Departments")."""
    known = labels.department_names()
    if value not in known:
        raise ValidationError(f"Must be one of: {', '.join(known)}.")


class ComplaintQuery(Schema):
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    level = _code()
    category = _code()
    department = fields.String(validate=_department)
    channel = _code()
    created_from = fields.AwareDateTime(metadata={"description": "created at or after (with a time zone)"})
    created_until = fields.AwareDateTime(metadata={"description": "created before (with a time zone)"})
    q = fields.String(validate=validate.Length(min=1, max=200),
                      metadata={"description": "text in the reference, customer, order id or description"})
    page = fields.Integer(**_page)
    per_page = fields.Integer(**_per_page)


class TaskQuery(Schema):
    scope = fields.String(load_default="mine", validate=validate.OneOf(SCOPES))
    sort = fields.String(load_default="due", validate=validate.OneOf(list(SORTS)))
    descending = fields.Boolean(load_default=False)
    page = fields.Integer(**_page)
    per_page = fields.Integer(**_per_page)


class DeferralQuery(Schema):
    status = fields.String(load_default="pending", validate=validate.OneOf(["pending", "approved", "rejected", "all"]))
    complaint_id = fields.Integer(validate=validate.Range(min=1, max=2147483647))


class CompleteBody(Schema):
    data = fields.Dict(required=True, keys=fields.String(),
                       metadata={"description": "the task's form data (see the task's `form.schema`)"})
    version = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1),
                             metadata={"description": "the complaint's `version` when the form was read: "
                                                      "a changed complaint is a 409 instead of an overwrite"})


class ReportQuery(Schema):
    date = fields.Date(metadata={"description": "a day in the period (default: today)"})
    department = fields.String(validate=_department,
                               metadata={"description": "only this department (department heads: their own)"})


class ProcessQuery(Schema):
    process_id = fields.String(validate=validate.Length(min=1, max=120),
                               metadata={"description": "default: the process new complaints start"})


class DeferralBody(Schema):
    task_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEXT))
    until = fields.AwareDateTime(required=True, metadata={"description": "the requested new deadline"})


class DecisionBody(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT))


class WithdrawBody(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(WITHDRAWAL_REASONS),
                           metadata={"description": "why the customer withdrew (撤诉)"})
    note = fields.String(load_default="", validate=validate.Length(max=MAX_TEXT),
                         metadata={"description": "says more; required with the reason `other`"})


#: The intake is the model's start form: any object, checked against that form (GET /complaints/form).
INTAKE_BODY = {"type": "object", "additionalProperties": True,
               "description": "the fields of the intake form of the current model (GET /complaints/form)"}
