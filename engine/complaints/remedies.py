"""Remedies being carried out (退款、退货、补发/换货、快递理赔), tracked to done beside the workflow.

The solution is chosen in the workflow (`analyse_and_propose`: the solutions offered, the one chosen, a refund's
amount and promised date). What happens afterwards — the refund paid, the return's and the re-shipment's waybills,
the claim against the courier — is recorded here by whoever works on the complaint, each change audited.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.db import UnitOfWork, use_case
from engine.errors import Code, InvalidInput, NotFound
from engine.models import Complaint, Remedy
from engine.people.access import check_can_contribute, check_can_view
from engine.people.roles import Actor
from engine.workflow import functions
from forms.errors import FieldErrors, FormCode, error

REFUND, RETURN, RESHIPMENT, COURIER_CLAIM = "refund", "return", "reshipment", "courier_claim"
#: Each kind's states, the first is where it starts; the last ones end it (`done_on` is set on reaching one).
STATES: dict[str, tuple[str, ...]] = {
    REFUND: ("promised", "done"),
    RETURN: ("awaiting", "received"),
    RESHIPMENT: ("sent", "delivered"),
    COURIER_CLAIM: ("filed", "paid", "refused"),
}
FINAL = {REFUND: ("done",), RETURN: ("received",), RESHIPMENT: ("delivered",), COURIER_CLAIM: ("paid", "refused")}
#: Kinds that need an amount, and kinds that need a waybill number.
WITH_AMOUNT = (REFUND, COURIER_CLAIM)
WITH_WAYBILL = (RETURN, RESHIPMENT)
#: 七天无理由退货: a return asked for within this many days of delivery needs no reason.
NO_REASON_DAYS = 7
#: The intake category of complaints about a review (评价).
REVIEW_CATEGORY = "review"
MAX_AMOUNT = Decimal("1000000")
MAX_WAYBILL = 60
MAX_NOTE = 2000


@dataclass(frozen=True)
class ReturnCheck:
    """The 7-day no-reason return check: days from delivery to the complaint's receipt, and the verdict."""

    delivered_on: date
    days: int
    eligible: bool


def no_reason_return(delivered_on: date | str | None, received: datetime, tz) -> ReturnCheck | None:
    """Whether a return asked for at `received` (the complaint's 受理时间) is within the 7 days after delivery,
    counted in calendar days in the desk's time zone; None when the delivery date is unknown."""
    if not delivered_on:
        return None
    if isinstance(delivered_on, str):
        try:
            delivered_on = date.fromisoformat(delivered_on)
        except ValueError:
            return None
    days = (received.astimezone(tz).date() - delivered_on).days
    return ReturnCheck(delivered_on=delivered_on, days=days, eligible=0 <= days <= NO_REASON_DAYS)


@dataclass(frozen=True)
class ReviewWindow:
    """Until when a bad review can still be changed (the last day), and the days left today (< 0: closed)."""

    last_day: date
    days_left: int


def review_window(variables: dict[str, Any], tz, today: date) -> ReviewWindow | None:
    """The window after 交易成功 in which the customer can change a bad review, as the complaint's model set it:
    from `review_window_from` for the policy's `sla_review_window`, the limit the review-window timers wait
    for (docs/data-dictionary.md, §23). None when the trade date or the policy's window is unknown.

    A window that had closed before the complaint was received gets no `review_window_from` (nobody could keep
    it); it is shown closed, counted from the day after the trade as the model counts it."""
    duration = variables.get("sla_review_window")
    start = variables.get("review_window_from")
    if not start and variables.get("trade_completed_on"):
        try:
            start = functions.day_after(variables["trade_completed_on"])
        except (TypeError, ValueError):
            return None
    if not start or not duration:
        return None
    ends = datetime.fromisoformat(functions.deadline(start, duration, "clock"))
    # The limit is the start of the day after the last day (the end of that day) in the staff's time zone.
    last_day = (ends.astimezone(tz) - timedelta(microseconds=1)).date()
    return ReviewWindow(last_day=last_day, days_left=(last_day - today).days)


def _complaint(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(Code.COMPLAINT_NOT_FOUND, complaint=complaint_id)
    return complaint


def _amount(raw: Any, errors: FieldErrors) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        errors["amount"] = [error(FormCode.NOT_A_NUMBER)]
        return None
    if not amount.is_finite():
        errors["amount"] = [error(FormCode.NOT_A_NUMBER)]
        return None
    if amount < 0:
        errors["amount"] = [error(FormCode.BELOW_MINIMUM, minimum=0)]
        return None
    if amount > MAX_AMOUNT:
        errors["amount"] = [error(FormCode.ABOVE_MAXIMUM, maximum=int(MAX_AMOUNT))]
        return None
    return amount.quantize(Decimal("0.01"))


def _date(name: str, raw: Any, errors: FieldErrors) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[name] = [error(FormCode.NOT_A_DATE)]
        return None


def _text(name: str, raw: Any, limit: int, errors: FieldErrors) -> str | None:
    text = str(raw or "").strip()
    if len(text) > limit:
        errors[name] = [error(FormCode.TOO_LONG, max=limit)]
    return text or None


@use_case
def add(uow: UnitOfWork, actor: Actor, complaint_id: int, data: dict[str, Any]) -> Remedy:
    """Start tracking a remedy: `kind` (refund, return, reshipment, courier_claim), `amount` (refund and claim),
    `waybill` (return and re-shipment), `courier`, `promised_on` (a refund's promised date), `note`.
    Every bad field is named at once."""
    session = uow.session
    complaint = _complaint(session, complaint_id)
    check_can_contribute(actor, complaint)
    errors: FieldErrors = {}
    kind = data.get("kind")
    if kind not in STATES:
        errors["kind"] = [error(FormCode.NOT_AN_OPTION)]
    amount = _amount(data.get("amount"), errors)
    waybill = _text("waybill", data.get("waybill"), MAX_WAYBILL, errors)
    courier = _text("courier", data.get("courier"), MAX_WAYBILL, errors)
    note = _text("note", data.get("note"), MAX_NOTE, errors)
    promised_on = _date("promised_on", data.get("promised_on"), errors)
    if kind in WITH_AMOUNT and amount is None and "amount" not in errors:
        errors["amount"] = [error(FormCode.REQUIRED)]
    if kind in WITH_WAYBILL and waybill is None and "waybill" not in errors:
        errors["waybill"] = [error(FormCode.REQUIRED)]
    if errors or kind not in STATES:
        raise InvalidInput(errors)
    now = clock.now()
    remedy = Remedy(complaint_id=complaint.id, kind=kind, state=STATES[kind][0], amount=amount, waybill=waybill,
                    courier=courier, promised_on=promised_on, note=note, created_by_id=actor.id,
                    created_at=now, updated_at=now)
    session.add(remedy)
    session.flush()
    audit.record(session, complaint.id, actor, "remedy_added", data=_audited(remedy))
    return remedy


@use_case
def change_state(uow: UnitOfWork, actor: Actor, complaint_id: int, remedy_id: int, state: str,
                 done_on: date | str | None = None, waybill: str | None = None) -> Remedy:
    """Move a remedy to another of its kind's states (a refund paid, a claim paid or refused, a parcel
    received). Reaching a final state records `done_on` (default: today). A re-shipment's or return's waybill
    may be given or corrected with it."""
    session = uow.session
    complaint = _complaint(session, complaint_id)
    check_can_contribute(actor, complaint)
    remedy = session.get(Remedy, remedy_id)
    if remedy is None or remedy.complaint_id != complaint.id:
        raise NotFound(Code.REMEDY_NOT_FOUND, remedy=remedy_id)
    errors: FieldErrors = {}
    if state not in STATES[remedy.kind]:
        errors["state"] = [error(FormCode.NOT_AN_OPTION)]
    day = _date("done_on", done_on, errors)
    new_waybill = _text("waybill", waybill, MAX_WAYBILL, errors)
    if errors:
        raise InvalidInput(errors)
    now = clock.now()
    remedy.state = state
    remedy.done_on = (day or now.date()) if state in FINAL[remedy.kind] else None
    if new_waybill:
        remedy.waybill = new_waybill
    remedy.updated_at = now
    audit.record(session, complaint.id, actor, "remedy_updated", data=_audited(remedy))
    return remedy


def _audited(remedy: Remedy) -> dict:
    return {"remedy": remedy.id, "kind": remedy.kind, "state": remedy.state,
            "amount": str(remedy.amount) if remedy.amount is not None else None, "waybill": remedy.waybill,
            "promised_on": remedy.promised_on.isoformat() if remedy.promised_on else None,
            "done_on": remedy.done_on.isoformat() if remedy.done_on else None}


def of_complaint(session: Session, complaint_id: int) -> list[Remedy]:
    """The complaint's remedies, oldest first."""
    return list(session.scalars(select(Remedy).where(Remedy.complaint_id == complaint_id).order_by(Remedy.id)))


def remedies_view(uow: UnitOfWork, actor: Actor, complaint_id: int, tz) -> RemediesView:
    """What the complaint page shows: the remedies, the 7-day no-reason return check and, for a complaint about a
    review, the window in which the review can still be changed."""
    complaint = _complaint(uow.session, complaint_id)
    check_can_view(actor, complaint)
    variables = complaint.variables or {}
    check = no_reason_return(variables.get("delivered_on"), complaint.received_at, tz)
    window = review_window(variables, tz, clock.now().astimezone(tz).date()) \
        if complaint.category == REVIEW_CATEGORY else None
    return RemediesView(of_complaint(uow.session, complaint_id), check, window)


@dataclass(frozen=True)
class RemediesView:
    """The complaint page's remedies section."""

    remedies: list[Remedy]
    return_check: ReturnCheck | None
    review: ReviewWindow | None

