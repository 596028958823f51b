"""What the API answers about complaints, their tasks and deferral requests."""
from __future__ import annotations

from marshmallow import Schema, fields


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
