"""The customer's side: a private link to the complaint's status, and the satisfaction survey.

The link is a signed, expiring token (no login). It shows the status in plain words, never internal
data. While the workflow waits for the `customer_survey` message (the follow-up step), the link also
offers a short survey; the answer is delivered as that BPMN message and decides the "satisfied?"
gateway exactly as the agent's follow-up would. Whichever comes first wins; the other is kept.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints import idempotency, notifications, progress, services
from engine.db import UnitOfWork
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import Complaint, Notification, Survey, WorkTask
from engine.people.roles import Actor
from engine.workflow import runtime, store
from engine.workflow.versions import load_version
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

#: What the customer is told while a task is open, by the task's name in the model; other tasks: "handling".
STAGE_OF_TASK = {
    "judge_validity": "reviewing",
    "reply_not_valid": "reviewing",
    "hand_over": "handling",
    "analyse_and_propose": "handling",
    "approve_solution": "handling",
    "gm_decide": "handling",
    "implement_solution": "implementing",
    "progress_check": "implementing",
    "follow_up": "follow_up",
    "cs_sign_off": "closing",
    "gm_review": "closing",
}
#: What the customer is told once closed, by the end event; other ends: "closed".
STAGE_OF_OUTCOME = {"end_archived": "resolved", "end_not_valid": "answered", "end_closed_by_gm": "closed"}
#: Later stages win when several tasks are open at once (e.g. a progress check beside the implementation).
STAGE_ORDER = ("received", "reviewing", "handling", "implementing", "follow_up", "closing")


# --- the link ------------------------------------------------------------------------------------

def link_token(secret: str, complaint_id: int, reference: str) -> str:
    """A signed token naming the complaint; valid for LINK_MAX_AGE from now."""
    return URLSafeTimedSerializer(secret, salt=LINK_SALT).dumps({"c": complaint_id, "r": reference})


def link_url(secret: str, base_url: str, complaint_id: int, reference: str) -> str:
    """The customer's private address of the complaint's page."""
    return base_url.rstrip("/") + LINK_PATH + link_token(secret, complaint_id, reference)


def _read_link(session: Session, secret: str, token: str) -> Complaint:
    """The complaint a valid link names. Any fault (tampered, expired, unknown) is the same NotFound."""
    try:
        data = URLSafeTimedSerializer(secret, salt=LINK_SALT).loads(
            token, max_age=int(LINK_MAX_AGE.total_seconds()))
    except BadData as err:
        raise NotFound("no such page") from err
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise NotFound("no such page")
    complaint = session.get(Complaint, data["c"])
    # The reference guards against a link outliving its database (ids are reused after a reset).
    if complaint is None or complaint.reference != data.get("r"):
        raise NotFound("no such page")
    return complaint


def queue_customer_link(session: Session, complaint: Complaint, url: str) -> None:
    """Put the customer's reference and link in the outbox (sent by e-mail when the contact is one)."""
    contact = complaint.customer_contact or ""
    now = clock.now()
    session.add(Notification(
        dedupe_key=f"customer_link:{complaint.id}", user_id=None,
        email=contact if pattern_matches(_EMAIL, contact) else None, complaint_id=complaint.id, kind="customer_link",
        params={"reference": complaint.reference, "customer": complaint.customer_name, "link": url,
                "days": LINK_MAX_AGE.days},
        locale=notifications.DEFAULT_LOCALE, created_at=now, next_attempt_at=now,
    ))


# --- recording a complaint -----------------------------------------------------------------------

@dataclass(frozen=True)
class Recorded:
    """A recorded complaint: the intake's step result, the customer's link, and whether this answer is
    the replay of an earlier request with the same idempotency key."""

    result: services.StepResult
    customer_link: str
    replayed: bool = False


class _Enclosed:
    """The unit of work an inner use case sees when an outer one owns the commit: commit only flushes."""

    def __init__(self, outer: UnitOfWork):
        self.session = outer.session

    def commit(self) -> None:
        self.session.flush()


def record_complaint(uow: UnitOfWork, actor: Actor, intake, secret: str, base_url: str,
                     key: idempotency.Key | None = None) -> Recorded:
    """Record a complaint (`services.start_complaint`) and queue the customer's link, in one transaction.

    With an idempotency `key`, a repeat of the same request returns the first result and records
    nothing; the same key with different data is refused (InvalidInput).
    """
    session = uow.session
    if key is not None:
        stored = idempotency.recall(session, key)
        if stored is not None:
            return _replay(stored)
    result = services.start_complaint(_Enclosed(uow), actor, intake)
    complaint = session.get(Complaint, result.complaint_id)
    url = link_url(secret, base_url, complaint.id, complaint.reference)
    queue_customer_link(session, complaint, url)
    if key is not None:
        idempotency.remember(session, key, 201, {"result": asdict(result), "customer_link": url})
    try:
        uow.commit()
    except IntegrityError:
        # A concurrent request with the same key won the race; nothing of ours was kept.
        session.rollback()
        stored = idempotency.recall(session, key) if key is not None else None
        if stored is None:
            raise
        return _replay(stored)
    return Recorded(result=result, customer_link=url)


def _replay(stored: idempotency.Stored) -> Recorded:
    return Recorded(result=services.StepResult(**stored.result["result"]),
                    customer_link=stored.result["customer_link"], replayed=True)


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
        offer = URLSafeTimedSerializer(secret, salt=OFFER_SALT).dumps(
            {"c": complaint.id, "round": complaint.round})
    return CustomerView(
        reference=complaint.reference or "", received_at=complaint.created_at,
        updated_at=complaint.updated_at, closed_at=complaint.closed_at, category=complaint.category,
        stage=_stage(session, complaint),
        round=complaint.round, survey_offer=offer, answered=answered,
    )


def _stage(session: Session, complaint: Complaint) -> str:
    if complaint.status != "open":
        return STAGE_OF_OUTCOME.get(complaint.outcome or "", "closed")
    names = session.scalars(select(WorkTask.name).where(WorkTask.complaint_id == complaint.id,
                                                        WorkTask.status == "open"))
    stages = [STAGE_OF_TASK.get(name, "handling") for name in names] or ["received"]
    return max(stages, key=STAGE_ORDER.index)


def _waits_for_survey(session: Session, complaint: Complaint) -> bool:
    return runtime.waits_for_message(_workflow(session, complaint), SURVEY_MESSAGE)


def _workflow(session: Session, complaint: Complaint):
    version = load_version(session, complaint.version_id)
    return store.load_state(complaint.state, version.spec, version.subprocess_specs, runtime.script_engine())


def _survey_of(session: Session, complaint_id: int, round_: int) -> Survey | None:
    return session.scalar(select(Survey).where(Survey.complaint_id == complaint_id, Survey.round == round_))


# --- the survey ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """The customer's answer as typed: satisfied yes/no, a rating 1–5 (optional), a comment (optional)."""

    satisfied: bool | None
    rating: int | None = None
    comment: str = ""


def check_answer(answer: Answer) -> dict[str, list[str]]:
    """Field errors of an answer (empty when it is acceptable)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(answer.satisfied, bool):
        errors["satisfied"] = ["this field is required"]
    if answer.rating is not None and (isinstance(answer.rating, bool) or answer.rating not in RATINGS):
        errors["rating"] = ["choose 1 to 5"]
    if len(answer.comment or "") > MAX_COMMENT:
        errors["comment"] = [f"at most {MAX_COMMENT} characters"]
    return errors


def submit_survey(uow: UnitOfWork, secret: str, token: str, offer: str, answer: Answer) -> bool:
    """Record the customer's answer to the survey offered in `offer`; return whether it was applied.

    Applied: the workflow still waited for it, so the answer is delivered as the `customer_survey`
    message and decides the follow-up (the agent's follow-up task is cancelled). Not applied: the agent's
    follow-up came first; the answer is kept. A second answer for the same round is a Conflict.
    """
    session = uow.session
    complaint = _read_link(session, secret, token)
    try:
        offered = URLSafeTimedSerializer(secret, salt=OFFER_SALT).loads(
            offer, max_age=int(LINK_MAX_AGE.total_seconds()))
    except BadData as err:
        raise NotFound("no such survey") from err
    if (not isinstance(offered, dict) or offered.get("c") != complaint.id
            or not isinstance(offered.get("round"), int)):
        raise NotFound("no such survey")
    errors = check_answer(answer)
    if errors:
        raise InvalidInput(errors)
    round_ = offered["round"]
    complaint = session.scalars(select(Complaint).where(Complaint.id == complaint.id).with_for_update()
                                .execution_options(populate_existing=True)).one()
    if _survey_of(session, complaint.id, round_) is not None:
        raise Conflict("this survey was already answered")
    now = clock.now()
    applied = False
    if complaint.status == "open" and complaint.round == round_:
        version = load_version(session, complaint.version_id)
        workflow = store.load_state(complaint.state, version.spec, version.subprocess_specs,
                                    runtime.script_engine())
        if runtime.waits_for_message(workflow, SURVEY_MESSAGE):
            applied = runtime.send_message(workflow, SURVEY_MESSAGE, answer.satisfied)
            if applied:
                progress.record(session, complaint, workflow, version, now)
    comment = (answer.comment or "").strip() or None
    session.add(Survey(complaint_id=complaint.id, round=round_, satisfied=answer.satisfied,
                       rating=answer.rating, comment=comment, submitted_at=now, applied=applied))
    audit.record(session, complaint.id, CUSTOMER, "survey_answered",
                 data={"round": round_, "satisfied": answer.satisfied, "rating": answer.rating,
                       "comment": comment, "applied": applied})
    try:
        uow.commit()
    except IntegrityError as err:  # a concurrent answer for the same round was stored first
        raise Conflict("this survey was already answered") from err
    return applied
