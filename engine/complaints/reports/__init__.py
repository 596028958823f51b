"""Weekly, monthly and yearly analysis reports (DOMAIN §6), each figure beside the previous period's.

Everything is computed with SQL over indexed columns of our own tables (complaints, penalties, surveys),
never by loading workflows. Percentiles come from one scan of the period's response times. The
first-response limit of each level is read from the policy decision of the current model version.

`periods` (weeks, months, years), `figures` (what a report holds), `queries` (the SQL per figure), `tables`
(figures made from both periods' rows), `policy` (the limits from the model); here, who may read which report
and the report itself.
"""
from __future__ import annotations

from datetime import date, tzinfo

from engine import clock
from engine.complaints import classify
from engine.complaints.reports.figures import Figure, PenaltyRow, Repeat, Report, ResponseTimes
from engine.complaints.reports.periods import FIRST_YEAR, KINDS, LAST_YEAR, Period, period_of
from engine.complaints.reports.policy import FIRST_RESPONSE_OUTPUT, first_response_limits
from engine.complaints.reports.queries import (
    TOP,
    Counts,
    closed_counts,
    penalties,
    repeats,
    response_times,
    surveys,
    top,
)
from engine.complaints.reports.tables import (
    ALL,
    compare,
    penalty_rows,
    percentile,
    response_table,
    rounds_average,
    rounds_histogram,
    satisfaction,
    timeline,
)
from engine.complaints.withdrawal import WITHDRAWN_END
from engine.config import DEFAULT_PROCESS_ID
from engine.db import UnitOfWork
from engine.errors import Code, Forbidden
from engine.models import Complaint
from engine.people.access import visible_department
from engine.people.roles import ADMIN, LANE_ROLES, Actor

__all__ = ["ALL", "FIRST_RESPONSE_OUTPUT", "FIRST_YEAR", "KINDS", "LAST_YEAR", "MALICIOUS_END", "REPORT_ROLES",
           "TOP", "Figure", "PenaltyRow", "Period", "Repeat", "Report", "ResponseTimes", "build_report",
           "check_can_read", "first_response_limits", "percentile", "period_of"]

REPORT_ROLES = (*LANE_ROLES, ADMIN)
#: The end event of harassment / malicious complaints (workflows/complaint_lifecycle.bpmn); reports count them.
MALICIOUS_END = "end_malicious"


def check_can_read(actor: Actor, department: str | None) -> str | None:
    """The department the actor's report covers (None: all): the complaints they may see
    (`access.visible_department`: department heads their own only)."""
    if actor.role not in REPORT_ROLES:
        raise Forbidden(Code.NO_REPORTS_FOR_ROLE, role=actor.role)
    own = visible_department(actor)
    if own is not None:
        if department not in (None, own):
            raise Forbidden(Code.OWN_DEPARTMENT_REPORT)
        return own
    return department or None


def build_report(uow: UnitOfWork, actor: Actor, kind: str, day: date, tz: tzinfo,
                 department: str | None = None, process_id: str = DEFAULT_PROCESS_ID) -> Report:
    """The report of the `kind` period containing `day`, compared with the period before it (time limits
    from the current version of `process_id`, `Settings.process_id`)."""
    department = check_can_read(actor, department)
    session = uow.session
    now_period = period_of(kind, day, tz)
    before = now_period.previous(tz)
    cur, prev = Counts(session, now_period, department), Counts(session, before, department)
    limits = first_response_limits(session, process_id)
    cur_times, prev_times = response_times(session, now_period, department), response_times(
        session, before, department)
    cur_closed, prev_closed = closed_counts(session, now_period, department), closed_counts(session, before, department)
    cur_pen, prev_pen = penalties(session, now_period, department), penalties(session, before, department)
    cur_survey, prev_survey = surveys(session, now_period, department), surveys(session, before, department)
    cur_repeat, prev_repeat = repeats(session, now_period, department), repeats(session, before, department)
    return Report(
        kind=kind, period=now_period, previous=before, department=department, generated_at=clock.now(),
        total=Figure(cur.total, prev.total),
        closed=Figure(sum(cur_closed.values()), sum(prev_closed.values())),
        by_category=compare(cur.by("category"), prev.by("category")),
        by_level=compare(cur.by("level"), prev.by("level")),
        by_department=compare(cur.by("department"), prev.by("department")),
        by_channel=compare(cur.by("channel"), prev.by("channel")),
        validity_rate=Figure(cur.validity_rate(), prev.validity_rate()),
        first_response=response_table(cur_times, prev_times, limits, now_period.end, before.end),
        breaches=Figure(sum(r[2] for r in cur_pen), sum(r[2] for r in prev_pen)),
        penalty_amount=Figure(sum(r[3] for r in cur_pen), sum(r[3] for r in prev_pen)),
        penalties_by_person=penalty_rows(session, cur_pen, prev_pen, by_person=True),
        penalties_by_department=penalty_rows(session, cur_pen, prev_pen, by_person=False),
        rounds_average=Figure(rounds_average(cur_closed), rounds_average(prev_closed)),
        rounds=compare(rounds_histogram(cur_closed), rounds_histogram(prev_closed), order="key"),
        satisfaction_rate=Figure(satisfaction(cur_closed), satisfaction(prev_closed)),
        surveys=Figure(cur_survey[0], prev_survey[0]),
        survey_rating=Figure(cur_survey[1], prev_survey[1]),
        repeat_complainants=Figure(len(cur_repeat), len(prev_repeat)),
        repeat_complaints=Figure(sum(r.complaints for r in cur_repeat),
                                 sum(r.complaints for r in prev_repeat)),
        top_repeat=cur_repeat[:TOP],
        top_causes=top(session, Complaint.cause, now_period, before, department),
        top_products=top(session, Complaint.product, now_period, before, department),
        by_logistics_issue=top(session, Complaint.logistics_issue, now_period, before, department),
        malicious_by_channel=top(session, Complaint.channel, now_period, before, department,
                                  Complaint.outcome == MALICIOUS_END),
        withdrawn_by_channel=top(session, Complaint.channel, now_period, before, department,
                                 Complaint.outcome == WITHDRAWN_END),
        timeline=timeline(cur_times, prev_times, now_period, before, tz),
        suggestion_kept=Figure(classify.kept_rate(session, now_period.start, now_period.end, department),
                               classify.kept_rate(session, before.start, before.end, department)),
    )
