"""Recording a complaint: the one use case behind the intake page, the API and `complaints start`.

It validates the intake against the model's intake form, starts the lifecycle on the current version,
attaches the evidence sent with it, and queues the customer's private link — in one transaction.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from engine import audit, clock
from engine.complaints import (
    classify,
    customer_link,
    customers,
    deadlines,
    evidence,
    holidays,
    idempotency,
    notifications,
    progress,
)
from engine.complaints.tasks import StepResult, step_result
from engine.config import Settings
from engine.db import UnitOfWork, use_case
from engine.errors import Code, InvalidInput, NotFound
from engine.models import Complaint, User
from engine.people.access import check_can_record
from engine.people.roles import AGENT, Actor
from engine.workflow import runtime
from engine.workflow.deploy import current_version
from engine.workflow.versions import TaskMeta, load_version
from forms.errors import FormCode, error
from forms.validate import validate

#: Complaint columns (for search, lists and reports) filled from the intake's fields of the same name.
COLUMNS = ("customer_name", "customer_contact", "customer_id", "channel", "order_id", "product",
           "description", "demand", "category", "logistics_issue", "level")


@dataclass(frozen=True)
class Recorded:
    """A recorded complaint: the intake's step result, the customer's link, and whether this answer is
    the replay of an earlier request with the same idempotency key."""

    result: StepResult
    customer_link: str
    replayed: bool = False


def intake_form(uow: UnitOfWork, process_id: str) -> TaskMeta | None:
    """The start event's form of the process's current version (None if the model has none)."""
    version = current_version(uow.session, process_id)
    if version is None:
        raise NotFound(Code.NO_DEPLOYED_VERSION, process=process_id)
    return load_version(uow.session, version.id).intake


@use_case
def record_complaint(uow: UnitOfWork, settings: Settings, actor: Actor, intake: Any, secret: str,
                     key: idempotency.Key | None = None, *, uploads: list[evidence.Upload] | None = None,
                     evidence_ids: list[str] | None = None, classified: bool = False,
                     locale: str | None = None) -> Recorded:
    """Record a complaint on the current version of `settings.process_id` and queue the customer's link
    (signed with `secret`, at `settings.public_base_url`).

    `uploads` are files sent with the intake, `evidence_ids` the actor's earlier uploads waiting for it
    (both become the complaint's evidence). With an idempotency `key`, a repeat of the same request
    returns the first result and records nothing; the same key with different data is refused.

    The customer filing it themselves (engine.complaints.self_service) is `customer_link.CUSTOMER`;
    `classified`: its category and level are the rules' suggestion (else the suggestion is only kept for
    the agent). `locale`: the customer's language, for the automatic reply.
    """
    if actor != customer_link.CUSTOMER:
        check_can_record(actor)
    session = uow.session
    if key is not None:
        stored = idempotency.recall(session, key)
        if stored is not None:
            return _replay(stored)
    version_row = current_version(session, settings.process_id)
    if version_row is None:
        raise NotFound(Code.NO_DEPLOYED_VERSION, process=settings.process_id)
    version = load_version(session, version_row.id)
    data = checked(version.intake, intake)
    now = clock.now()
    received = deadlines.stamp_receipt(data, now, timedelta(days=settings.receipt_max_age_days))
    holidays.install(session)  # the first deadlines count the administrator's calendar
    workflow = runtime.start(version, data, runtime.script_engine())
    complaint = Complaint(
        version_id=version_row.id, status="open", received_at=received, created_at=now, updated_at=now,
        created_by_id=actor.id, owner_id=actor.id if actor.role == AGENT else None, state="", variables={},
        **{k: data.get(k) for k in COLUMNS},
    )
    customer = customers.match_or_create(session, data.get("customer_name") or "",
                                         customers.keys_of(data.get("customer_contact"), data.get("customer_id")),
                                         now)
    complaint.customer_record_id = customer.id if customer is not None else None
    session.add(complaint)
    session.flush()
    complaint.reference = f"TS{now:%Y%m%d}-{complaint.id:06d}"
    audit.record(session, complaint.id, actor, "complaint_started", data=data)
    if customer is not None and customer.flag is None and customers.apply_repeat_rule(
            session, customer, customers.repeat_rule(session, version_row.id, data.get("level")), received, now):
        audit.record(session, complaint.id, actor, "customer_flagged",
                     data={"customer": customer.id, "flag": customers.REPEAT})
    result = step_result(session, complaint, progress.record(session, complaint, workflow, version, now))
    deadlines.alert_at_intake(session, complaint)
    if actor.role != AGENT and actor != customer_link.CUSTOMER:
        _pass_to_agents(session, actor, complaint)
    rules = classify.rules_of_version(session, version_row.id)
    classify.record(session, complaint, classify.suggest(rules, data), applied=classified)
    if evidence_ids:
        evidence.attach_pending(uow, actor, complaint.id, evidence_ids)
    if uploads:
        evidence.add_files(uow, settings, actor, uploads, complaint.id)
    url = customer_link.link_url(secret, settings.public_base_url, complaint.id, complaint.reference)
    customer_link.queue_customer_link(session, complaint, url, locale)
    if key is not None:
        idempotency.remember(session, key, 201, {"result": asdict(result), "customer_link": url})
        try:
            session.flush()
        except IntegrityError:
            # A concurrent request with the same key was recorded first: drop ours, answer with theirs.
            session.rollback()
            stored = idempotency.recall(session, key)
            if stored is None:
                raise
            return _replay(stored)
    return Recorded(result=result, customer_link=url)


def checked(form: TaskMeta | None, intake: Any) -> dict:
    """The intake's data as the form types it; every field error at once (InvalidInput)."""
    if form is not None:
        data, errors = validate(form.form, intake)
        required = form.form.schema.get("required", ())
    else:
        data, errors = (dict(intake), {}) if isinstance(intake, dict) else \
            ({}, {"_form": [error(FormCode.FORM_NOT_OBJECT)]})
        required = ()
    given = intake if isinstance(intake, dict) else {}
    for name in required:  # the schema accepts a blank text; a required field must say something
        if name not in errors and not str(given.get(name) or "").strip():
            errors[name] = [error(FormCode.REQUIRED)]
    if errors:
        raise InvalidInput(errors)
    if form is not None:  # the model's conditions read these (e.g. request_type): an omitted field has its default
        for name, prop in form.form.properties.items():
            if name not in data and isinstance(prop, dict) and "default" in prop:
                data[name] = prop["default"]
    return data


def _pass_to_agents(session, actor: Actor, complaint: Complaint) -> None:
    """Someone other than an agent heard the grievance and recorded it ("…反馈于回访专员跟进"): its first task waits
    in the agents' shared queue, and every agent is told to take it up (跟进); audited `passed_to_agent`."""
    agents = notifications.users_for(session, AGENT)
    notifications.notify(session, agents, "follow_up_needed", str(complaint.id),
                         {"reference": complaint.reference, "customer": complaint.customer_name,
                          "recorder": _name(session, actor)}, complaint.id)
    audit.record(session, complaint.id, actor, "passed_to_agent", data={"recorder_role": actor.role})


def _name(session, actor: Actor) -> str:
    user = session.get(User, actor.id) if actor.id is not None else None
    return (user.display_name if user is not None and user.display_name else actor.username)


def _replay(stored: idempotency.Stored) -> Recorded:
    return Recorded(result=StepResult(**stored.result["result"]),
                    customer_link=stored.result["customer_link"], replayed=True)
