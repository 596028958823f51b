"""Weekly, monthly and yearly analysis reports (DOMAIN §6), each figure beside the previous period's.

Everything is computed with SQL over indexed columns of our own tables (complaints, penalties, surveys),
never by loading workflows. Percentiles come from one scan of the period's response times. The
first-response limit of each level is read from the policy decision of the current model version.
"""
from __future__ import annotations

import ast
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.complaints import classify
from engine.config import DEFAULT_PROCESS_ID
from engine.db import UnitOfWork
from engine.errors import Code, Forbidden, InvalidInput
from engine.models import Complaint, ModelFile, Penalty, Survey, User
from engine.people.access import visible_department
from engine.people.roles import ADMIN, LANE_ROLES, Actor
from engine.workflow.deploy import current_version
from engine.workflow.functions import parse_duration
from engine.workflow.model_xml import NS, ModelInvalid, parse_xml

KINDS = ("week", "month", "year")
REPORT_ROLES = (*LANE_ROLES, ADMIN)
#: The policy decision's output that holds each level's first-response limit (an ISO 8601 duration).
FIRST_RESPONSE_OUTPUT = "sla_first_response"
TOP = 10
#: The end event of harassment / malicious complaints (workflows/complaint_lifecycle.bpmn); reports count them.
MALICIOUS_END = "end_malicious"
#: The "all levels" row of the first-response table.
ALL = "*"
#: Reports cover these years (the previous period of the first must still be a real date).
FIRST_YEAR, LAST_YEAR = 1971, 9998


# --- periods -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """A calendar week (from Monday), month or year in the report's time zone; `start`/`end` in UTC."""

    kind: str
    first_day: date
    start: datetime
    end: datetime

    def previous(self, tz: tzinfo) -> Period:
        return period_of(self.kind, self.first_day - timedelta(days=1), tz)

    def buckets(self, tz: tzinfo) -> list[date]:
        """The first day of each bar of the period's time chart: days, or months of a year."""
        if self.kind == "year":
            return [date(self.first_day.year, m, 1) for m in range(1, 13)]
        last = (self.end.astimezone(tz) - timedelta(microseconds=1)).date()
        return [self.first_day + timedelta(days=i) for i in range((last - self.first_day).days + 1)]

    def bucket_of(self, moment: datetime, tz: tzinfo) -> int:
        local = moment.astimezone(tz).date()
        return local.month - 1 if self.kind == "year" else (local - self.first_day).days


def period_of(kind: str, day: date, tz: tzinfo) -> Period:
    """The period of `kind` that contains `day` (of the years FIRST_YEAR to LAST_YEAR)."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput.field("date", Code.DAY_OUT_OF_RANGE, first=FIRST_YEAR, last=LAST_YEAR)
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    elif kind == "month":
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    elif kind == "year":
        first = date(day.year, 1, 1)
        after = date(day.year + 1, 1, 1)
    else:
        raise InvalidInput.field("period", Code.ONE_OF, options=", ".join(KINDS))
    return Period(kind=kind, first_day=first, start=_utc(first, tz), end=_utc(after, tz))


def _utc(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


# --- figures -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """One figure in this period and the previous one; `key` names the group it counts, if any."""

    current: float | None
    previous: float | None
    key: str | None = None

    @property
    def delta(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return self.current - self.previous

    @property
    def pct(self) -> float | None:
        """The change in per cent of the previous value (None when there was nothing to compare with)."""
        if self.delta is None or not self.previous:
            return None
        return 100.0 * self.delta / self.previous


@dataclass(frozen=True)
class ResponseTimes:
    """Time to first response (seconds) of one level, or of all (`level` == ALL)."""

    level: str
    limit: float | None
    responded: Figure
    median: Figure
    p90: Figure
    within_limit: Figure
    breached: Figure
    waiting: Figure


@dataclass(frozen=True)
class PenaltyRow:
    """Deadline breaches and penalties (¥) of one person or department."""

    key: str
    department: str | None
    breaches: Figure
    amount: Figure


@dataclass(frozen=True)
class Repeat:
    """A complainant (contact) with more than one complaint in the period."""

    contact: str
    name: str
    complaints: int


@dataclass(frozen=True)
class Report:
    kind: str
    period: Period
    previous: Period
    department: str | None
    generated_at: datetime
    total: Figure
    closed: Figure
    by_category: list[Figure]
    by_level: list[Figure]
    by_department: list[Figure]
    by_channel: list[Figure]
    validity_rate: Figure
    first_response: list[ResponseTimes]
    breaches: Figure
    penalty_amount: Figure
    penalties_by_person: list[PenaltyRow]
    penalties_by_department: list[PenaltyRow]
    rounds_average: Figure
    rounds: list[Figure]
    satisfaction_rate: Figure
    surveys: Figure
    survey_rating: Figure
    repeat_complainants: Figure
    repeat_complaints: Figure
    top_repeat: list[Repeat]
    top_causes: list[Figure]
    top_products: list[Figure]
    timeline: list[Figure] = field(default_factory=list)
    #: Logistics complaints by sub-type (丢件/破损/延误/地址错误/少发/错发), most first.
    by_logistics_issue: list[Figure] = field(default_factory=list)
    #: Complaints closed as harassment / malicious, by channel (their source), most first.
    malicious_by_channel: list[Figure] = field(default_factory=list)
    #: The share of automatic category suggestions the agents kept at the validity check (engine.complaints.classify).
    suggestion_kept: Figure = field(default_factory=lambda: Figure(None, None))


# --- the report ----------------------------------------------------------------------------------

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
    cur, prev = _Counts(session, now_period, department), _Counts(session, before, department)
    limits = first_response_limits(session, process_id)
    cur_times, prev_times = _response_times(session, now_period, department), _response_times(
        session, before, department)
    cur_closed, prev_closed = _closed(session, now_period, department), _closed(session, before, department)
    cur_pen, prev_pen = _penalties(session, now_period, department), _penalties(session, before, department)
    cur_survey, prev_survey = _surveys(session, now_period, department), _surveys(session, before, department)
    cur_repeat, prev_repeat = _repeats(session, now_period, department), _repeats(session, before, department)
    return Report(
        kind=kind, period=now_period, previous=before, department=department, generated_at=clock.now(),
        total=Figure(cur.total, prev.total),
        closed=Figure(sum(cur_closed.values()), sum(prev_closed.values())),
        by_category=_compare(cur.by("category"), prev.by("category")),
        by_level=_compare(cur.by("level"), prev.by("level")),
        by_department=_compare(cur.by("department"), prev.by("department")),
        by_channel=_compare(cur.by("channel"), prev.by("channel")),
        validity_rate=Figure(cur.validity_rate(), prev.validity_rate()),
        first_response=_response_table(cur_times, prev_times, limits, now_period.end, before.end),
        breaches=Figure(sum(r[2] for r in cur_pen), sum(r[2] for r in prev_pen)),
        penalty_amount=Figure(sum(r[3] for r in cur_pen), sum(r[3] for r in prev_pen)),
        penalties_by_person=_penalty_rows(session, cur_pen, prev_pen, by_person=True),
        penalties_by_department=_penalty_rows(session, cur_pen, prev_pen, by_person=False),
        rounds_average=Figure(_rounds_average(cur_closed), _rounds_average(prev_closed)),
        rounds=_compare(_rounds_histogram(cur_closed), _rounds_histogram(prev_closed), order="key"),
        satisfaction_rate=Figure(_satisfaction(cur_closed), _satisfaction(prev_closed)),
        surveys=Figure(cur_survey[0], prev_survey[0]),
        survey_rating=Figure(cur_survey[1], prev_survey[1]),
        repeat_complainants=Figure(len(cur_repeat), len(prev_repeat)),
        repeat_complaints=Figure(sum(r.complaints for r in cur_repeat),
                                 sum(r.complaints for r in prev_repeat)),
        top_repeat=cur_repeat[:TOP],
        top_causes=_top(session, Complaint.cause, now_period, before, department),
        top_products=_top(session, Complaint.product, now_period, before, department),
        by_logistics_issue=_top(session, Complaint.logistics_issue, now_period, before, department),
        malicious_by_channel=_top(session, Complaint.channel, now_period, before, department,
                                  Complaint.outcome == MALICIOUS_END),
        timeline=_timeline(cur_times, prev_times, now_period, before, tz),
        suggestion_kept=Figure(classify.kept_rate(session, now_period.start, now_period.end, department),
                               classify.kept_rate(session, before.start, before.end, department)),
    )


def _in(column, period: Period):
    return (column >= period.start) & (column < period.end)


def _scope(query, department: str | None):
    return query.where(Complaint.department == department) if department else query


def _compare(current: dict, previous: dict, order: str = "count") -> list[Figure]:
    """Group counts of both periods side by side: most frequent now first (or by key)."""
    keys = set(current) | set(previous)
    if order == "key":
        ordered = sorted(keys, key=str)
    else:
        ordered = sorted(keys, key=lambda k: (-current.get(k, 0), -previous.get(k, 0), str(k)))
    return [Figure(current.get(k, 0), previous.get(k, 0), key=k if k is None else str(k)) for k in ordered]


class _Counts:
    """The period's new complaints counted by category, level, department, channel and validity, in one
    GROUP BY query (a few hundred rows at most); the separate breakdowns are sums over it."""

    def __init__(self, session: Session, period: Period, department: str | None):
        columns = (Complaint.category, Complaint.level, Complaint.department, Complaint.channel,
                   Complaint.valid)
        query = _scope(select(*columns, func.count()).where(_in(Complaint.received_at, period)), department)
        self.rows = session.execute(query.group_by(*columns)).all()

    @property
    def total(self) -> int:
        return sum(r[-1] for r in self.rows)

    def by(self, name: str) -> dict:
        index = ("category", "level", "department", "channel").index(name)
        counts: dict = defaultdict(int)
        for row in self.rows:
            counts[row[index]] += row[-1]
        return dict(counts)

    def validity_rate(self) -> float | None:
        judged = sum(r[-1] for r in self.rows if r[4] is not None)
        return sum(r[-1] for r in self.rows if r[4] is True) / judged if judged else None


def _response_times(session: Session, period: Period, department: str | None) -> list[tuple]:
    """(level, created_at, first_response_at) of the period's complaints: one scan of indexed columns."""
    query = _scope(select(Complaint.level, Complaint.received_at, Complaint.first_response_at)
                   .where(_in(Complaint.received_at, period)), department)
    return session.execute(query).all()


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _response_stats(rows: list[tuple], level: str, limit: float | None, end: datetime) -> dict:
    chosen = [r for r in rows if level == ALL or r[0] == level]
    seconds = [(r[2] - r[1]).total_seconds() for r in chosen if r[2] is not None]
    waiting = [r for r in chosen if r[2] is None]
    stats = {"responded": len(seconds), "median": statistics.median(seconds) if seconds else None,
             "p90": percentile(seconds, 0.9), "waiting": len(waiting)}
    if level != ALL and limit is not None:
        stats["within"] = sum(1 for s in seconds if s <= limit)
        # Not answered by the end of the period and already past the limit counts as a breach too.
        late = sum(1 for r in waiting if (min(end, clock.now()) - r[1]).total_seconds() > limit)
        stats["breached"] = len(seconds) - stats["within"] + late
    return stats


def _response_table(cur: list, prev: list, limits: dict[str, float], cur_end: datetime,
                    prev_end: datetime) -> list[ResponseTimes]:
    levels = sorted({r[0] for r in cur} | {r[0] for r in prev} | set(limits),
                    key=lambda lv: (list(limits).index(lv) if lv in limits else len(limits), lv))
    table = []
    totals = {"within": [0, 0], "breached": [0, 0]}
    for level in [*levels, ALL]:
        limit = limits.get(level)
        now_stats = _response_stats(cur, level, limit, cur_end)
        then_stats = _response_stats(prev, level, limit, prev_end)
        if level == ALL:
            now_stats.update(within=totals["within"][0], breached=totals["breached"][0])
            then_stats.update(within=totals["within"][1], breached=totals["breached"][1])
        else:
            for name in totals:
                totals[name][0] += now_stats.get(name, 0)
                totals[name][1] += then_stats.get(name, 0)
        table.append(ResponseTimes(
            level=level, limit=limit,
            **{name: Figure(now_stats.get(source), then_stats.get(source)) for name, source in (
                ("responded", "responded"), ("median", "median"), ("p90", "p90"),
                ("within_limit", "within"), ("breached", "breached"), ("waiting", "waiting"))},
        ))
    return table


def _timeline(cur: list, prev: list, period: Period, before: Period, tz: tzinfo) -> list[Figure]:
    """New complaints per day (per month for a year), this period against the same position in the last;
    days (months) after today have no current figure."""
    now_counts = [0] * len(period.buckets(tz))
    then_counts = [0] * len(before.buckets(tz))
    for rows, counts, span in ((cur, now_counts, period), (prev, then_counts, before)):
        for row in rows:
            index = span.bucket_of(row[1], tz)
            if 0 <= index < len(counts):
                counts[index] += 1
    today = clock.now().astimezone(tz).date()
    # Days still to come have no figure yet (rather than a misleading zero).
    return [Figure(n if day <= today else None, then_counts[i] if i < len(then_counts) else None,
                   key=day.isoformat())
            for i, (n, day) in enumerate(zip(now_counts, period.buckets(tz), strict=True))]


def _closed(session: Session, period: Period, department: str | None) -> dict[tuple, int]:
    """Complaints closed in the period, counted by (rounds needed, satisfied)."""
    query = _scope(select(Complaint.round, Complaint.satisfied, func.count())
                   .where(_in(Complaint.closed_at, period)), department)
    return {(r, s): n for r, s, n in session.execute(query.group_by(Complaint.round, Complaint.satisfied))}


def _rounds_average(closed: dict[tuple, int]) -> float | None:
    handled = [(r, n) for (r, _s), n in closed.items() if r is not None]
    count = sum(n for _r, n in handled)
    return sum(r * n for r, n in handled) / count if count else None


def _rounds_histogram(closed: dict[tuple, int]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for (rounds, _s), n in closed.items():
        if rounds is not None:
            counts[rounds] += n
    return dict(counts)


def _satisfaction(closed: dict[tuple, int]) -> float | None:
    answered = sum(n for (_r, s), n in closed.items() if s is not None)
    return sum(n for (_r, s), n in closed.items() if s is True) / answered if answered else None


def _penalties(session: Session, period: Period, department: str | None) -> list[tuple]:
    """((person id, name), department, timeouts, amount) of the ledger entries recorded in the period: timeouts
    (超时扣罚) and the deductions decided at implementation and review, per person (a user, or a person named
    on the work order) and department."""
    timeouts = func.sum(case((Penalty.kind == "timeout", 1), else_=0))
    query = (select(Penalty.person_id, Penalty.person_name, Penalty.department, func.coalesce(timeouts, 0),
                    func.coalesce(func.sum(Penalty.amount), 0))
             .where(_in(Penalty.recorded_at, period)))
    if department:
        query = (query.join(Complaint, Complaint.id == Penalty.complaint_id)
                 .where(Complaint.department == department))
    rows = session.execute(query.group_by(Penalty.person_id, Penalty.person_name, Penalty.department)).all()
    return [((pid, None if pid else name), dept, count, amount) for pid, name, dept, count, amount in rows]


def _penalty_rows(session: Session, cur: list, prev: list, by_person: bool) -> list[PenaltyRow]:
    def group(rows):
        out: dict = defaultdict(lambda: [0, 0])
        for person, dept, count, amount in rows:
            key = (person, dept) if by_person else dept
            out[key][0] += count
            out[key][1] += amount
        return out

    now_groups, then_groups = group(cur), group(prev)
    names = {}
    if by_person:
        ids = {k[0][0] for k in (*now_groups, *then_groups) if k[0][0] is not None}
        if ids:
            names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    keys = sorted(set(now_groups) | set(then_groups),
                  key=lambda k: (-now_groups.get(k, [0, 0])[1], -then_groups.get(k, [0, 0])[1], str(k)))
    rows = []
    for key in keys:
        now_v, then_v = now_groups.get(key, [0, 0]), then_groups.get(key, [0, 0])
        person, dept = key if by_person else (None, key)
        label = (names.get(person[0]) or person[1] or "") if by_person else (dept or "")
        rows.append(PenaltyRow(key=label, department=dept, breaches=Figure(now_v[0], then_v[0]),
                               amount=Figure(now_v[1], then_v[1])))
    return rows


def _surveys(session: Session, period: Period, department: str | None) -> tuple[int, float | None]:
    """How many customers answered the survey in the period, and their average rating."""
    query = select(func.count(Survey.id), func.avg(Survey.rating)).where(_in(Survey.submitted_at, period))
    if department:
        query = (query.join(Complaint, Complaint.id == Survey.complaint_id)
                 .where(Complaint.department == department))
    count, rating = session.execute(query).one()
    return count or 0, float(rating) if rating is not None else None


def _repeats(session: Session, period: Period, department: str | None) -> list[Repeat]:
    """Contacts with more than one new complaint in the period, most complaints first."""
    count = func.count()
    query = _scope(select(Complaint.customer_contact, func.max(Complaint.customer_name), count)
                   .where(_in(Complaint.received_at, period)), department)
    rows = session.execute(query.group_by(Complaint.customer_contact).having(count > 1)
                           .order_by(count.desc(), Complaint.customer_contact)).all()
    return [Repeat(contact=c, name=n or "", complaints=k) for c, n, k in rows]


def _top(session: Session, column, period: Period, before: Period, department: str | None,
         *only) -> list[Figure]:
    """The values of `column` with the most new complaints in the period (with their previous counts);
    `only`: further conditions on the complaints counted."""
    count = func.count()
    query = _scope(select(column, count).where(_in(Complaint.received_at, period), column.is_not(None),
                                                column != "", *only), department)
    top = session.execute(query.group_by(column).order_by(count.desc(), column).limit(TOP)).all()
    if not top:
        return []
    keys = [k for k, _n in top]
    earlier = dict(session.execute(_scope(select(column, count).where(
        _in(Complaint.received_at, before), column.in_(keys), *only), department).group_by(column)).all())
    return [Figure(n, earlier.get(k, 0), key=k) for k, n in top]


# --- the policy ----------------------------------------------------------------------------------

def first_response_limits(session: Session, process_id: str) -> dict[str, float]:
    """Each level's first-response limit in seconds, from the policy decision of the current version.

    Empty when the current model has no decision with a `sla_first_response` output keyed by level.
    """
    version = current_version(session, process_id)
    if version is None:
        return {}
    files = session.execute(select(ModelFile.path, ModelFile.content).where(
        ModelFile.version_id == version.id, ModelFile.path.like("%.dmn"))).all()
    limits: dict[str, float] = {}
    for path, content in files:
        limits.update(_limits_in(path, content))
    return limits


@lru_cache(maxsize=16)
def _limits_in(path: str, content: str) -> dict[str, float]:
    try:
        tree = parse_xml(content, path)
    except ModelInvalid:
        return {}
    limits: dict[str, float] = {}
    for table in tree.iterfind(".//dmn:decision/dmn:decisionTable", NS):
        outputs = [o.get("name") for o in table.iterfind("dmn:output", NS)]
        inputs = [(i.findtext("dmn:inputExpression/dmn:text", namespaces=NS) or "").strip()
                  for i in table.iterfind("dmn:input", NS)]
        if FIRST_RESPONSE_OUTPUT not in outputs or "level" not in inputs:
            continue
        out_at, in_at = outputs.index(FIRST_RESPONSE_OUTPUT), inputs.index("level")
        for rule in table.iterfind("dmn:rule", NS):
            entries = [e.findtext("dmn:text", namespaces=NS) for e in rule.iterfind("dmn:inputEntry", NS)]
            results = [e.findtext("dmn:text", namespaces=NS) for e in rule.iterfind("dmn:outputEntry", NS)]
            try:
                level = ast.literal_eval((entries[in_at] or "").strip())
                limit = parse_duration(ast.literal_eval((results[out_at] or "").strip()))
            except (IndexError, ValueError, SyntaxError, TypeError, KeyError):
                continue  # a rule that is not a plain "level → duration" literal has no fixed limit
            if isinstance(level, str):
                limits.setdefault(level, limit.total_seconds())
    return limits

