"""The SQL behind a report: one query per figure over indexed columns of complaints, penalties and surveys
(never loading workflows), each for one period and optionally one department."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, case, func, select
from sqlalchemy.orm import Session

from engine.complaints.reports.figures import Figure, Repeat
from engine.complaints.reports.periods import Period
from engine.models import Complaint, Penalty, Survey

TOP = 10


def within(column, period: Period):
    """The condition: `column` falls in `period`."""
    return (column >= period.start) & (column < period.end)


def scoped(query, department: str | None):
    """`query` narrowed to one department's complaints (None: all)."""
    return query.where(Complaint.department == department) if department else query


class Counts:
    """The period's new complaints counted by category, level, department, channel and validity, in one
    GROUP BY query (a few hundred rows at most); the separate breakdowns are sums over it."""

    def __init__(self, session: Session, period: Period, department: str | None):
        columns = (Complaint.category, Complaint.level, Complaint.department, Complaint.channel,
                   Complaint.valid)
        query = scoped(select(*columns, func.count()).where(within(Complaint.received_at, period)), department)
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


def response_times(session: Session, period: Period, department: str | None) -> Sequence[Row[Any]]:
    """(level, received_at, first_response_at) of the complaints received in the period (受理时间): one scan of
    indexed columns."""
    query = scoped(select(Complaint.level, Complaint.received_at, Complaint.first_response_at)
                   .where(within(Complaint.received_at, period)), department)
    return session.execute(query).all()


def closed_counts(session: Session, period: Period, department: str | None) -> dict[tuple, int]:
    """Complaints closed in the period, counted by (rounds needed, satisfied)."""
    query = scoped(select(Complaint.round, Complaint.satisfied, func.count())
                   .where(within(Complaint.closed_at, period)), department)
    return {(r, s): n for r, s, n in session.execute(query.group_by(Complaint.round, Complaint.satisfied))}


def penalties(session: Session, period: Period, department: str | None) -> list[tuple]:
    """((person id, name), department, timeouts, amount) of the ledger entries recorded in the period: timeouts
    (超时扣罚) and the deductions decided at implementation and review, per person (a user, or a person named
    on the work order) and department."""
    timeouts = func.sum(case((Penalty.kind == "timeout", 1), else_=0))
    query = (select(Penalty.person_id, Penalty.person_name, Penalty.department, func.coalesce(timeouts, 0),
                    func.coalesce(func.sum(Penalty.amount), 0))
             .where(within(Penalty.recorded_at, period)))
    if department:
        query = (query.join(Complaint, Complaint.id == Penalty.complaint_id)
                 .where(Complaint.department == department))
    rows = session.execute(query.group_by(Penalty.person_id, Penalty.person_name, Penalty.department)).all()
    return [((pid, None if pid else name), dept, count, amount) for pid, name, dept, count, amount in rows]


def surveys(session: Session, period: Period, department: str | None) -> tuple[int, float | None]:
    """How many customers answered the survey in the period, and their average rating."""
    query = select(func.count(Survey.id), func.avg(Survey.rating)).where(within(Survey.submitted_at, period))
    if department:
        query = (query.join(Complaint, Complaint.id == Survey.complaint_id)
                 .where(Complaint.department == department))
    count, rating = session.execute(query).one()
    return count or 0, float(rating) if rating is not None else None


def repeats(session: Session, period: Period, department: str | None) -> list[Repeat]:
    """Contacts with more than one new complaint in the period, most complaints first."""
    count = func.count()
    query = scoped(select(Complaint.customer_contact, func.max(Complaint.customer_name), count)
                   .where(within(Complaint.received_at, period)), department)
    rows = session.execute(query.group_by(Complaint.customer_contact).having(count > 1)
                           .order_by(count.desc(), Complaint.customer_contact)).all()
    return [Repeat(contact=c, name=n or "", complaints=k) for c, n, k in rows]


def top(session: Session, column, period: Period, before: Period, department: str | None,
         *only) -> list[Figure]:
    """The values of `column` with the most new complaints in the period (with their previous counts);
    `only`: further conditions on the complaints counted."""
    count = func.count()
    query = scoped(select(column, count).where(within(Complaint.received_at, period), column.is_not(None),
                                                column != "", *only), department)
    top = session.execute(query.group_by(column).order_by(count.desc(), column).limit(TOP)).all()
    if not top:
        return []
    keys = [k for k, _n in top]
    earlier = dict(session.execute(scoped(select(column, count).where(
        within(Complaint.received_at, before), column.in_(keys), *only), department).group_by(column)).all())
    return [Figure(n, earlier.get(k, 0), key=k) for k, n in top]
