"""The analysis report's way to the departments, and the order volumes behind the complaint rate.

The regulation: the agents' weekly / monthly / yearly analysis is reviewed by the general manager ("呈总经理审阅后")
and then fed back to every department manager ("将结果反馈于各相关部门经理"). Here a company-wide report of a period
is submitted by the agent team with their summary, signed by the general manager with comments — which sends it
through the outbox to every active department head, in their language — and acknowledged by each head.

"降低投诉率" needs order volumes: entered per report period (or imported as CSV lines `kind,first_day,orders`);
the rate is shown only for a period that has one.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.complaints import notifications
from engine.complaints.reports import KINDS, period_of
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, Forbidden, InvalidInput
from engine.models import OrderVolume, ReportAcknowledgement, ReportReview, User
from engine.people.roles import ADMIN, AGENT, CS_MANAGER, DEPARTMENT_HEAD, GENERAL_MANAGER, Actor
from forms.errors import FieldErrors, FormCode, error

SUBMITTED, SENT = "submitted", "sent"
SUBMITTERS = (AGENT, CS_MANAGER)
VOLUME_KEEPERS = (CS_MANAGER, GENERAL_MANAGER, ADMIN)
MAX_TEXT = 8000
MAX_ORDERS = 10**12
MAX_CSV_LINES = 2000


@dataclass(frozen=True)
class Receipt:
    """One department head's copy: who, their department, when they acknowledged it (None: not yet)."""

    user: str
    department: str | None
    acknowledged_at: object


@dataclass(frozen=True)
class ReviewState:
    """Where a period's report is: its review row (None: not submitted) and the heads' receipts."""

    review: ReportReview | None
    receipts: list[Receipt]


def _first_day(kind: str, day: date, tz: tzinfo) -> date:
    if kind not in KINDS:
        raise InvalidInput({"kind": [error(FormCode.NOT_AN_OPTION)]})
    return period_of(kind, day, tz).first_day


def _text(name: str, raw: str | None, required: bool) -> str:
    text = (raw or "").strip()
    errors: FieldErrors = {}
    if required and not text:
        errors[name] = [error(FormCode.REQUIRED)]
    elif len(text) > MAX_TEXT:
        errors[name] = [error(FormCode.TOO_LONG, max=MAX_TEXT)]
    if errors:
        raise InvalidInput(errors)
    return text


def _review(session: Session, kind: str, first_day: date) -> ReportReview | None:
    return session.scalar(select(ReportReview).where(ReportReview.kind == kind, ReportReview.first_day == first_day))


def state_of(session: Session, kind: str, day: date, tz: tzinfo) -> ReviewState:
    """The review state of the period of `kind` containing `day`."""
    review = _review(session, kind, _first_day(kind, day, tz))
    if review is None:
        return ReviewState(None, [])
    rows = session.execute(select(User.display_name, User.username, ReportAcknowledgement.department,
                                  ReportAcknowledgement.acknowledged_at)
                           .join(User, User.id == ReportAcknowledgement.user_id)
                           .where(ReportAcknowledgement.review_id == review.id)
                           .order_by(ReportAcknowledgement.department, User.username)).all()
    return ReviewState(review, [Receipt(name or username, department, at) for name, username, department, at in rows])


def check_can_submit(actor: Actor) -> None:
    """The agent team (agents, the CS manager) submits reports."""
    if actor.role not in SUBMITTERS:
        raise Forbidden(Code.REPORT_STEP_FOR_ROLE, role=actor.role)


def check_can_sign(actor: Actor) -> None:
    """Only the general manager signs reports."""
    if actor.role != GENERAL_MANAGER:
        raise Forbidden(Code.REPORT_STEP_FOR_ROLE, role=actor.role)


@use_case
def submit(uow: UnitOfWork, actor: Actor, kind: str, day: date, tz: tzinfo, summary: str) -> ReportReview:
    """The agent team hands the period's report to the general manager with their summary (analysis and
    suggestions). A report not yet signed may be submitted again with a new summary."""
    check_can_submit(actor)
    first_day = _first_day(kind, day, tz)
    text = _text("summary", summary, required=True)
    review = _review(uow.session, kind, first_day)
    now = clock.now()
    if review is None:
        review = ReportReview(kind=kind, first_day=first_day, state=SUBMITTED, summary=text)
        uow.session.add(review)
    elif review.state != SUBMITTED:
        raise Conflict(Code.REPORT_STATE, state=review.state)
    review.summary, review.submitted_by_id, review.submitted_at = text, actor.id, now
    uow.session.flush()
    notifications.notify(uow.session, notifications.users_for(uow.session, GENERAL_MANAGER), "report_submitted",
                         f"{kind}:{first_day.isoformat()}:{now.isoformat()}",
                         {"kind": kind, "period": first_day.isoformat()})
    return review


@use_case
def sign(uow: UnitOfWork, actor: Actor, kind: str, day: date, tz: tzinfo, comment: str) -> ReportReview:
    """The general manager signs the submitted report with comments; it goes at once to every active department
    head (outbox, in their language), each of whom is to acknowledge it."""
    check_can_sign(actor)
    first_day = _first_day(kind, day, tz)
    text = _text("comment", comment, required=True)
    review = _review(uow.session, kind, first_day)
    if review is None or review.state != SUBMITTED:
        raise Conflict(Code.REPORT_STATE, state=review.state if review else "none")
    now = clock.now()
    review.state, review.signed_by_id, review.signed_at, review.gm_comment = SENT, actor.id, now, text
    heads = list(uow.session.scalars(select(User).where(User.role == DEPARTMENT_HEAD, User.active.is_(True))
                                     .order_by(User.id)))
    for head in heads:
        uow.session.add(ReportAcknowledgement(review_id=review.id, user_id=head.id, department=head.department,
                                              sent_at=now))
    notifications.notify(uow.session, heads, "report_sent", f"{kind}:{first_day.isoformat()}",
                         {"kind": kind, "period": first_day.isoformat(), "comment": text})
    return review


@use_case
def acknowledge(uow: UnitOfWork, actor: Actor, kind: str, day: date, tz: tzinfo) -> ReportAcknowledgement:
    """A department head confirms they received and read the signed report (a repeat changes nothing)."""
    review = _review(uow.session, kind, _first_day(kind, day, tz))
    if review is None or review.state != SENT:
        raise Conflict(Code.REPORT_STATE, state=review.state if review else "none")
    receipt = uow.session.scalar(select(ReportAcknowledgement).where(
        ReportAcknowledgement.review_id == review.id, ReportAcknowledgement.user_id == actor.id))
    if receipt is None:
        raise Forbidden(Code.REPORT_STEP_FOR_ROLE, role=actor.role)
    if receipt.acknowledged_at is None:
        receipt.acknowledged_at = clock.now()
    return receipt


# --- order volumes ---------------------------------------------------------------------------------

def volume_of(session: Session, kind: str, first_day: date) -> int | None:
    """The period's order volume, None when none was entered."""
    return session.scalar(select(OrderVolume.orders).where(OrderVolume.kind == kind,
                                                           OrderVolume.first_day == first_day))


def complaint_rate(complaints: int, orders: int | None) -> float | None:
    """Complaints per order; None without a volume (or with none of them)."""
    return complaints / orders if orders else None


def _orders(raw: object, name: str = "orders") -> int:
    text = str(raw if raw is not None else "").strip().replace(",", "")
    if not text.isdigit():
        raise InvalidInput({name: [error(FormCode.NOT_WHOLE_NUMBER)]})
    orders = int(text)
    if orders > MAX_ORDERS:
        raise InvalidInput({name: [error(FormCode.ABOVE_MAXIMUM, maximum=MAX_ORDERS)]})
    return orders


def check_can_keep_volumes(actor: Actor) -> None:
    """Order volumes are entered by the customer-service manager, the general manager or an administrator."""
    if actor.role not in VOLUME_KEEPERS:
        raise Forbidden(Code.REPORT_STEP_FOR_ROLE, role=actor.role)


def _store(session: Session, actor: Actor, kind: str, first_day: date, orders: int) -> None:
    row = session.scalar(select(OrderVolume).where(OrderVolume.kind == kind, OrderVolume.first_day == first_day))
    if row is None:
        row = OrderVolume(kind=kind, first_day=first_day, orders=orders)
        session.add(row)
    row.orders, row.entered_by_id, row.entered_at = orders, actor.id, clock.now()


@use_case
def set_volume(uow: UnitOfWork, actor: Actor, kind: str, day: date, tz: tzinfo, orders: object) -> int:
    """Enter (or correct) the order volume of the period of `kind` containing `day`."""
    check_can_keep_volumes(actor)
    first_day = _first_day(kind, day, tz)
    count = _orders(orders)
    _store(uow.session, actor, kind, first_day, count)
    return count


@use_case
def import_volumes(uow: UnitOfWork, actor: Actor, text: str, tz: tzinfo) -> int:
    """Import volumes from CSV lines `kind,day,orders` (a header line starting with "kind" is skipped; the day
    may be any day of the period). All or nothing: a bad line is named by its number. Returns the lines stored."""
    check_can_keep_volumes(actor)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if len(rows) > MAX_CSV_LINES:
        raise InvalidInput({"file": [error(FormCode.TOO_MANY_ITEMS, max=MAX_CSV_LINES)]})
    parsed, errors = [], {}
    for number, row in enumerate(rows, 1):
        if not row or (number == 1 and row[0].strip().lower() == "kind"):
            continue
        name = f"line {number}"
        try:
            kind, day_text, orders = (cell.strip() for cell in row)
            parsed.append((kind, _first_day(kind, date.fromisoformat(day_text), tz), _orders(orders, name)))
        except InvalidInput as err:
            errors[name] = next(iter(err.errors.values()))
        except ValueError:
            errors[name] = [error(FormCode.BAD_FORMAT, format="kind,day,orders")]
    if errors:
        raise InvalidInput(errors)
    for kind, first_day, count in parsed:
        _store(uow.session, actor, kind, first_day, count)
    return len(parsed)
