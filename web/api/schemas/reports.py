"""The analysis report as the API answers it (engine.complaints.reports.Report)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from engine.complaints.reports import KINDS


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
