"""The customer's side: a private link to the complaint's status, and the satisfaction survey.

The link is a signed, expiring token (no login). It shows the status in plain words, never internal
data. While the workflow waits for the `customer_survey` message (the follow-up step), the link also
offers a short survey; the answer is delivered as that BPMN message and decides the "satisfied?"
gateway exactly as the agent's follow-up would. Whichever comes first wins; the other is kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints import notifications, progress
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, InvalidInput, NotFound
from engine.models import Complaint, Notification, Survey, WorkTask
from engine.people.access import check_admin, check_can_contribute
from engine.people.roles import Actor
from engine.workflow import runtime
from engine.workflow.versions import load_version
from forms.errors import FieldErrors, FormCode, error
from forms.patterns import pattern_matches

SURVEY_MESSAGE = "customer_survey"
LINK_SALT = "complaints.customer-link"
OFFER_SALT = "complaints.survey-offer"
LINK_MAX_AGE = timedelta(days=90)
#: Where the web app serves the customer's page; the engine needs it for the e-mail it queues.
LINK_PATH = "/c/"
MAX_COMMENT = 2000
RATINGS = range(1, 6)
#: The customer, as the audit trail names them (no user account).
CUSTOMER = Actor(id=None, username="customer", role="customer")
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"  # matched by RE2: linear in the contact's length

#: What the customer is told while a task is open comes from the model: the user task's `customerStage`
#: property (`TaskMeta.customer_stage`), one of STAGE_ORDER; a task without one counts as "handling".
DEFAULT_STAGE = "handling"
#: What the customer is told once closed, by the end event; other ends: "closed".
#: What the customer is told once closed, from the end event's `customerStage` (`LoadedVersion.end_stages`);
#: an end event without one: "closed".
CLOSED_STAGES = ("resolved", "answered", "withdrawn", "closed")
#: Later stages win when several tasks are open at once (e.g. a progress check beside the implementation).
STAGE_ORDER = ("received", "reviewing", "handling", "implementing", "follow_up", "closing")


# --- the link ------------------------------------------------------------------------------------

class _ClockSigner(TimestampSigner):
    """Stamps and ages tokens by the program's clock (`engine.clock`), as every other time here: a link made
    twice in the same moment is the same link, and its age is what the clock says."""

    def get_timestamp(self) -> int:
        return int(clock.now().timestamp())


def _serializer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt, signer=_ClockSigner)


def link_token(secret: str, complaint_id: int, reference: str, generation: int = 0) -> str:
    """A signed token naming the complaint and its links' generation; valid for LINK_MAX_AGE from now."""
    data = {"c": complaint_id, "r": reference}
    if generation:  # links of generation 0 (never revoked) stay exactly as they were before revocation existed
        data["g"] = generation
    return _serializer(secret, LINK_SALT).dumps(data)


def offer_token(secret: str, complaint_id: int, round_: int | None) -> str:
    """A signed token offering the survey of the complaint's round `round_`; valid for LINK_MAX_AGE."""
    return _serializer(secret, OFFER_SALT).dumps({"c": complaint_id, "round": round_})


def link_url(secret: str, base_url: str, complaint_id: int, reference: str, generation: int = 0) -> str:
    """The customer's private address of the complaint's page."""
    return base_url.rstrip("/") + LINK_PATH + link_token(secret, complaint_id, reference, generation)


@use_case
def revoke_links(uow: UnitOfWork, actor: Actor, complaint_id: int) -> int:
    """End every link the customer was given for this complaint (e.g. sent to the wrong person); a new
    link can be given at once. Returns the new generation. Staff who may add to the complaint may do it."""
    complaint = uow.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(Code.COMPLAINT_NOT_FOUND, complaint=complaint_id)
    check_can_contribute(actor, complaint)  # may see it, and works on complaints
    generation = complaint.customer_link_generation + 1
    # A plain UPDATE: the complaint's optimistic lock guards workflow steps, which this does not race with.
    uow.session.execute(update(Complaint).where(Complaint.id == complaint_id)
                        .values(customer_link_generation=Complaint.customer_link_generation + 1)
                        .execution_options(synchronize_session=False))
    audit.record(uow.session, complaint_id, actor, "customer_link_revoked", data={"generation": generation})
    return generation


def _read_link(session: Session, secret: str, token: str) -> Complaint:
    """The complaint a valid link names. Any fault (tampered, expired, unknown) is the same NotFound."""
    try:
        data = _serializer(secret, LINK_SALT).loads(
            token, max_age=int(LINK_MAX_AGE.total_seconds()))
    except BadData as err:
        raise NotFound(Code.PAGE_NOT_FOUND) from err
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise NotFound(Code.PAGE_NOT_FOUND)
    complaint = session.get(Complaint, data["c"])
    # The reference guards against a link outliving its database (ids are reused after a reset); the
    # generation against a link revoked by staff.
    if (complaint is None or complaint.reference != data.get("r")
            or data.get("g", 0) != complaint.customer_link_generation):
        raise NotFound(Code.PAGE_NOT_FOUND)
    return complaint


def contact_email(complaint: Complaint) -> str | None:
    """The customer's contact when it is an e-mail address (the link can then be sent to it), else None."""
    contact = (complaint.customer_contact or "").strip()
    return contact if pattern_matches(_EMAIL, contact) else None


@use_case
def email_link(uow: UnitOfWork, actor: Actor, complaint_id: int, url: str, locale: str | None = None) -> str:
    """Queue the customer's link again in the outbox, to the e-mail address given as their contact (staff
    who work on the complaint, e.g. when the customer lost it). Returns the address it goes to."""
    complaint = uow.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(Code.COMPLAINT_NOT_FOUND, complaint=complaint_id)
    check_can_contribute(actor, complaint)
    address = contact_email(complaint)
    if address is None:
        raise InvalidInput({"contact": [error(FormCode.BAD_FORMAT, format="email")]})
    # Each sending is its own outbox entry: the first one (at intake) keeps its key.
    queue_customer_link(uow.session, complaint, url, locale, again=clock.now().isoformat())
    audit.record(uow.session, complaint_id, actor, "customer_link_sent", data={"channel": "email"})
    return address


def queue_customer_link(session: Session, complaint: Complaint, url: str, locale: str | None = None,
                        again: str | None = None) -> None:
    """Put the customer's reference and link in the outbox (sent by e-mail when the contact is one): the
    automatic reply, with the level's first-response limit, in the customer's language (`locale`).
    `again`: a distinct mark (the time) when staff send the link once more."""
    contact = complaint.customer_contact or ""
    now = clock.now()
    session.add(Notification(
        dedupe_key=f"customer_link:{complaint.id}" + (f":{again}" if again else ""), user_id=None,
        email=contact if pattern_matches(_EMAIL, contact) else None, complaint_id=complaint.id, kind="customer_link",
        params={"reference": complaint.reference, "customer": complaint.customer_name, "link": url,
                "days": LINK_MAX_AGE.days, "first_response": (complaint.variables or {}).get("sla_first_response")},
        locale=locale or notifications.DEFAULT_LOCALE, created_at=now, next_attempt_at=now,
    ))


# --- what the customer sees ----------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerView:
    """The complaint as its customer may see it: no staff, no notes, no internal data."""

    reference: str
    received_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    category: str
    stage: str
    round: int | None
    #: A signed offer to answer the survey, while the workflow waits for the answer (else None).
    survey_offer: str | None
    #: The customer's answer of the current round, if they gave one.
    answered: Survey | None


def customer_view(uow: UnitOfWork, secret: str, token: str) -> CustomerView:
    """What the link `token` shows. Raises NotFound for any invalid, expired or unknown link."""
    session = uow.session
    complaint = _read_link(session, secret, token)
    answered = _survey_of(session, complaint.id, complaint.round) if complaint.round else None
    offer = None
    if complaint.status == "open" and answered is None and _waits_for_survey(session, complaint):
        offer = offer_token(secret, complaint.id, complaint.round)
    return CustomerView(
        reference=complaint.reference or "", received_at=complaint.received_at,
        updated_at=complaint.updated_at, closed_at=complaint.closed_at, category=complaint.category,
        stage=_stage(session, complaint),
        round=complaint.round, survey_offer=offer, answered=answered,
    )


def _stage(session: Session, complaint: Complaint) -> str:
    version = load_version(session, complaint.version_id)
    if complaint.status != "open":
        stage = version.end_stages.get(complaint.outcome or "")
        return stage if stage in CLOSED_STAGES else "closed"
    names = session.scalars(select(WorkTask.name).where(WorkTask.complaint_id == complaint.id,
                                                        WorkTask.status == "open"))
    tasks = version.tasks
    stages = [_stage_of(tasks[name].customer_stage if name in tasks else None) for name in names]
    return max(stages or ["received"], key=STAGE_ORDER.index)


def _stage_of(declared: str | None) -> str:
    return declared if declared in STAGE_ORDER else DEFAULT_STAGE


def _waits_for_survey(session: Session, complaint: Complaint) -> bool:
    workflow = progress.load_workflow(complaint, load_version(session, complaint.version_id))
    return runtime.waits_for_message(workflow, SURVEY_MESSAGE)


def _survey_of(session: Session, complaint_id: int, round_: int) -> Survey | None:
    return session.scalar(select(Survey).where(Survey.complaint_id == complaint_id, Survey.round == round_))


# --- the survey ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """The customer's answer as typed: satisfied yes/no, a rating 1–5 (optional), a comment (optional)."""

    satisfied: bool | None
    rating: int | None = None
    comment: str = ""


def check_answer(answer: Answer) -> FieldErrors:
    """Field errors of an answer (empty when it is acceptable)."""
    errors: FieldErrors = {}
    if not isinstance(answer.satisfied, bool):
        errors["satisfied"] = [error(FormCode.REQUIRED)]
    if answer.rating is not None and (isinstance(answer.rating, bool) or answer.rating not in RATINGS):
        errors["rating"] = [error(Code.CHOOSE_BETWEEN, min=min(RATINGS), max=max(RATINGS))]
    if len(answer.comment or "") > MAX_COMMENT:
        errors["comment"] = [error(FormCode.TOO_LONG, max=MAX_COMMENT)]
    return errors


@use_case
def submit_survey(uow: UnitOfWork, secret: str, token: str, offer: str, answer: Answer) -> bool:
    """Record the customer's answer to the survey offered in `offer`; return whether it was applied.

    Applied: the workflow still waited for it, so the answer is delivered as the `customer_survey`
    message and decides the follow-up (the agent's follow-up task is cancelled). Not applied: the agent's
    follow-up came first; the answer is kept. A second answer for the same round is a Conflict.
    """
    session = uow.session
    complaint = _read_link(session, secret, token)
    try:
        offered = _serializer(secret, OFFER_SALT).loads(
            offer, max_age=int(LINK_MAX_AGE.total_seconds()))
    except BadData as err:
        raise NotFound(Code.SURVEY_NOT_FOUND) from err
    if (not isinstance(offered, dict) or offered.get("c") != complaint.id
            or not isinstance(offered.get("round"), int)):
        raise NotFound(Code.SURVEY_NOT_FOUND)
    errors = check_answer(answer)
    if errors:
        raise InvalidInput(errors)
    round_ = offered["round"]
    now = clock.now()
    with progress.locked_case(session, complaint.id, now) as case:
        complaint = case.complaint
        if _survey_of(session, complaint.id, round_) is not None:
            raise Conflict(Code.SURVEY_ANSWERED)
        applied = False
        if complaint.status == "open" and complaint.round == round_:
            applied = (runtime.waits_for_message(case.workflow, SURVEY_MESSAGE)
                       and runtime.send_message(case.workflow, SURVEY_MESSAGE, answer.satisfied))
            if not applied:  # the agent's follow-up came first: the workflow stays as it was
                case.unchanged()
        comment = (answer.comment or "").strip() or None
        session.add(Survey(complaint_id=complaint.id, round=round_, satisfied=answer.satisfied,
                           rating=answer.rating, comment=comment, submitted_at=now, applied=applied))
        audit.record(session, complaint.id, CUSTOMER, "survey_answered",
                     data={"round": round_, "satisfied": answer.satisfied, "rating": answer.rating,
                           "comment": comment, "applied": applied})
    try:
        session.flush()
    except IntegrityError as err:  # a concurrent answer for the same round was stored first
        raise Conflict(Code.SURVEY_ANSWERED) from err
    return applied


@dataclass(frozen=True)
class SentLink:
    """A customer's link put in the outbox (the administrator's list): for which complaint, to where, when
    sent, and how often the complaint's links were revoked since (`generation`)."""

    complaint_id: int
    reference: str | None
    email: str | None
    queued_at: datetime
    sent_at: datetime | None
    generation: int


def sent_links(uow: UnitOfWork, actor: Actor, *, limit: int = 200) -> list[SentLink]:
    """The customers' links most recently queued, newest first (administrators)."""
    check_admin(actor)
    rows = uow.session.execute(
        select(Notification, Complaint.id, Complaint.reference, Complaint.customer_link_generation)
        .join(Complaint, Complaint.id == Notification.complaint_id)
        .where(Notification.kind == "customer_link")
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    return [SentLink(complaint_id=complaint_id, reference=ref, email=n.email, queued_at=n.created_at,
                     sent_at=n.sent_at, generation=gen) for n, complaint_id, ref, gen in rows]
