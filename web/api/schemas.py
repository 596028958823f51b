"""The API's request and response shapes (marshmallow), which the OpenAPI document is built from."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from engine.complaints.reports import KINDS
from engine.complaints.search import MAX_PER_PAGE
from engine.complaints.worklist import SCOPES, SORTS
from engine.people.roles import DEPARTMENTS

MAX_TEXT = 4000
_page = dict(load_default=1, validate=validate.Range(min=1, max=1_000_000),
             metadata={"description": "page number, from 1"})
_per_page = dict(load_default=25, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                 metadata={"description": f"items per page (at most {MAX_PER_PAGE})"})


def _code(**kwargs):
    """A short code such as a level or a category (the model decides which codes exist)."""
    return fields.String(validate=validate.Length(min=1, max=40), **kwargs)


# --- requests ------------------------------------------------------------------------------------

class ComplaintQuery(Schema):
    status = fields.String(validate=validate.OneOf(["open", "closed"]))
    level = _code()
    category = _code()
    department = fields.String(validate=validate.OneOf(DEPARTMENTS))
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
    department = fields.String(validate=validate.OneOf(DEPARTMENTS),
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


#: The intake is the model's start form: any object, checked against that form (GET /complaints/form).
INTAKE_BODY = {"type": "object", "additionalProperties": True,
               "description": "the fields of the intake form of the current model (GET /complaints/form)"}


# --- responses -----------------------------------------------------------------------------------

class OpenTask(Schema):
    id = fields.String()
    task = fields.String()
    title = fields.String()
    title_en = fields.String(allow_none=True)
    role = fields.String()
    department = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    due_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    warned = fields.Boolean()
    escalated_to = fields.String(allow_none=True)


class StepResult(Schema):
    complaint_id = fields.Integer()
    reference = fields.String()
    version = fields.Integer(attribute="lock_version",
                             metadata={"description": "the complaint's version now"})
    status = fields.String()
    open_tasks = fields.List(fields.Nested(OpenTask))


class CreatedComplaint(StepResult):
    customer_link = fields.String(metadata={"description": "the customer's private status and survey page"})


class ComplaintSummary(Schema):
    id = fields.Integer()
    reference = fields.String(allow_none=True)
    status = fields.String()
    outcome = fields.String(allow_none=True)
    category = fields.String()
    level = fields.String()
    department = fields.String(allow_none=True)
    channel = fields.String()
    customer_name = fields.String()
    round = fields.Integer(allow_none=True)
    valid = fields.Boolean(allow_none=True)
    satisfied = fields.Boolean(allow_none=True)
    #: 受理时间, when the complaint was received (every clock counts from it); created_at is 登记时间.
    received_at = fields.AwareDateTime()
    created_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    version = fields.Integer(attribute="lock_version")


class Breach(Schema):
    """One entry of the complaint's penalty ledger: a timeout (with its deadline) or a decided deduction."""

    kind = fields.String(metadata={"enum": ["timeout", "responsible", "supervisor"]})
    task = fields.String()
    deadline = fields.String(allow_none=True, metadata={"format": "date-time"})
    person = fields.String(allow_none=True)
    role = fields.String()
    department = fields.String(allow_none=True)
    level = fields.String()
    amount = fields.Integer()
    reason = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    recorded_at = fields.String(metadata={"format": "date-time"})


class TimelineEvent(Schema):
    at = fields.String(metadata={"format": "date-time"})
    actor = fields.String()
    kind = fields.String()
    task = fields.String(allow_none=True)
    data = fields.Dict()


class ComplaintDetail(ComplaintSummary):
    customer_contact = fields.String()
    customer_id = fields.String(allow_none=True)
    order_id = fields.String(allow_none=True)
    product = fields.String(allow_none=True)
    description = fields.String()
    demand = fields.String()
    cause = fields.String(allow_none=True)
    solution_type = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime()
    first_response_at = fields.AwareDateTime(allow_none=True)
    process_version = fields.String()
    variables = fields.Dict()
    open_tasks = fields.List(fields.Nested(OpenTask))
    breaches = fields.List(fields.Nested(Breach))
    timeline = fields.List(fields.Nested(TimelineEvent))
    customer_link = fields.String()


class ComplaintPage(Schema):
    items = fields.List(fields.Nested(ComplaintSummary))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()
    pages = fields.Integer()


class FormDoc(Schema):
    schema = fields.Dict(metadata={"description": "JSON Schema (2020-12) of the form"})
    ui = fields.Dict(metadata={"description": "layout hints"})


class IntakeForm(Schema):
    title = fields.String()
    title_en = fields.String()
    instructions = fields.String()
    instructions_en = fields.String()
    form = fields.Nested(FormDoc)


class TaskItem(Schema):
    id = fields.String()
    complaint_id = fields.Integer()
    reference = fields.String(allow_none=True)
    name = fields.String()
    title = fields.String()
    title_en = fields.String(allow_none=True)
    role = fields.String()
    department = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    level = fields.String()
    category = fields.String()
    customer_name = fields.String()
    created_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime(allow_none=True)
    warned = fields.Boolean()
    escalated_to = fields.String(allow_none=True)


class TaskPage(ComplaintPage):
    items = fields.List(fields.Nested(TaskItem))


class TaskComplaint(Schema):
    id = fields.Integer()
    reference = fields.String(allow_none=True)
    status = fields.String()
    version = fields.Integer(attribute="lock_version")


class TaskDetail(Schema):
    id = fields.String()
    name = fields.String()
    title = fields.String()
    title_en = fields.String(allow_none=True)
    role = fields.String()
    department = fields.String(allow_none=True)
    status = fields.String()
    assignee = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime(allow_none=True)
    escalated_to = fields.String(allow_none=True)
    instructions = fields.String()
    instructions_en = fields.String()
    form = fields.Nested(FormDoc)
    complaint = fields.Nested(TaskComplaint)


class Figure(Schema):
    key = fields.String(allow_none=True)
    current = fields.Float(allow_none=True)
    previous = fields.Float(allow_none=True)
    delta = fields.Float(allow_none=True)
    pct = fields.Float(allow_none=True, metadata={"description": "change in per cent of the previous period"})


class PeriodDoc(Schema):
    kind = fields.String()
    first_day = fields.Date()
    start = fields.AwareDateTime()
    end = fields.AwareDateTime()


class ResponseTimesDoc(Schema):
    level = fields.String(metadata={"description": "a level, or * for all"})
    limit = fields.Float(allow_none=True, metadata={"description": "the level's first-response limit (s)"})
    responded = fields.Nested(Figure)
    median = fields.Nested(Figure, metadata={"description": "seconds"})
    p90 = fields.Nested(Figure, metadata={"description": "seconds"})
    within_limit = fields.Nested(Figure)
    breached = fields.Nested(Figure)
    waiting = fields.Nested(Figure)


class PenaltyRowDoc(Schema):
    key = fields.String()
    department = fields.String(allow_none=True)
    breaches = fields.Nested(Figure)
    amount = fields.Nested(Figure)


class RepeatDoc(Schema):
    contact = fields.String()
    name = fields.String()
    complaints = fields.Integer()


class ReportDoc(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    period = fields.Nested(PeriodDoc)
    previous = fields.Nested(PeriodDoc)
    department = fields.String(allow_none=True)
    generated_at = fields.AwareDateTime()
    total = fields.Nested(Figure)
    closed = fields.Nested(Figure)
    by_category = fields.List(fields.Nested(Figure))
    by_level = fields.List(fields.Nested(Figure))
    by_department = fields.List(fields.Nested(Figure))
    by_channel = fields.List(fields.Nested(Figure))
    validity_rate = fields.Nested(Figure)
    suggestion_kept = fields.Nested(Figure)
    first_response = fields.List(fields.Nested(ResponseTimesDoc))
    breaches = fields.Nested(Figure)
    penalty_amount = fields.Nested(Figure)
    penalties_by_person = fields.List(fields.Nested(PenaltyRowDoc))
    penalties_by_department = fields.List(fields.Nested(PenaltyRowDoc))
    rounds_average = fields.Nested(Figure)
    rounds = fields.List(fields.Nested(Figure))
    satisfaction_rate = fields.Nested(Figure)
    surveys = fields.Nested(Figure)
    survey_rating = fields.Nested(Figure)
    repeat_complainants = fields.Nested(Figure)
    repeat_complaints = fields.Nested(Figure)
    top_repeat = fields.List(fields.Nested(RepeatDoc))
    top_causes = fields.List(fields.Nested(Figure))
    top_products = fields.List(fields.Nested(Figure))
    timeline = fields.List(fields.Nested(Figure))


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
    message = fields.String()
    hint = fields.String(allow_none=True)


class CaseDoc(Schema):
    file = fields.String()
    name = fields.String()
    passed = fields.Boolean()
    failures = fields.List(fields.String())


class CheckDoc(Schema):
    valid = fields.Boolean()
    process_id = fields.String(allow_none=True)
    content_hash = fields.String(allow_none=True)
    problems = fields.List(fields.Nested(ProblemDoc))
    test_results = fields.List(fields.Nested(CaseDoc))
    ignored = fields.List(fields.String(),
                          metadata={"description": "uploaded names that are not model files"})
    files = fields.List(fields.String(), metadata={"description": "the bundle that was checked"})


class DeferralCreated(Schema):
    id = fields.Integer()


class DeferralDoc(Schema):
    id = fields.Integer()
    complaint_id = fields.Integer()
    reference = fields.String(allow_none=True)
    task = fields.String(metadata={"description": "the BPMN id of the task whose deadline would move"})
    title = fields.String()
    title_en = fields.String(allow_none=True)
    requested_by = fields.String()
    reason = fields.String()
    until = fields.AwareDateTime(metadata={"description": "the requested new deadline"})
    status = fields.String(metadata={"description": "pending, approved or rejected"})
    created_at = fields.AwareDateTime()
    decided_at = fields.AwareDateTime(allow_none=True)
    note = fields.String(allow_none=True, metadata={"description": "the general manager's note"})


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
    code = fields.String(metadata={"description": "what was refused and why, for programs (an engine refusal)"})
    params = fields.Dict(metadata={"description": "the values the code's sentence needs"})
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FieldErrorDoc)),
                               metadata={"description": "each field's errors as codes"})
