"""Complaints the customer files themselves: the public web form and the e-mail channel.

Both go through `submit`, which hands a new complaint to the one intake use case
(`engine.complaints.intake.record_complaint`) as the customer, received now. Before that:

- a repeat — the same customer (record or contact) and order id as a complaint still open and received
  within `REPEAT_WINDOW` — is not a second complaint: it becomes a contact on the open one (its files that
  complaint's evidence), and the customer is told so by the outbox;
- without a category, the classification rules of the current model version choose category and level
  (`engine.complaints.classify`); the agent confirms or changes them at the validity check.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints import classify, customer_link, customers, evidence, intake, notifications
from engine.config import Settings
from engine.db import UnitOfWork, use_case
from engine.errors import Code, InvalidInput, NotFound
from engine.models import Complaint, Contact, Notification, User, WorkTask
from engine.workflow.deploy import current_version
from forms.errors import FieldErrors
from forms.patterns import pattern_matches

#: A second submission with the same contact and order within this time joins the open complaint.
REPEAT_WINDOW = timedelta(days=7)
#: The longest text a contact made by the customer keeps (the rest of a long e-mail is cut).
MAX_SUMMARY = 8000
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


@dataclass(frozen=True)
class Submitted:
    """What the customer is shown: the complaint's reference and private link, and whether the submission
    was added to an open complaint instead of opening one (`link_mailed`: the link was e-mailed to its contact).
    A repeat's link goes only to the contact's e-mail, never onto the page: whoever knows a customer's phone
    number and order id must not get the link to their complaint (docs/ARCHITECTURE.md, "Customer intake")."""

    complaint_id: int
    reference: str
    link: str
    repeat: bool = False
    link_mailed: bool = False


def normal_contact(contact: str | None) -> str:
    """A contact as compared for repeats, keyed like the customer records (engine.complaints.customers): an
    e-mail address in lower case, a phone number by its digits ("+86 138-0013-8000" is "13800138000")."""
    keys = customers.keys_of(contact)
    return keys.email or keys.phone or (contact or "").strip().casefold()


def open_repeat(session: Session, contact: str | None, order_id: str | None) -> Complaint | None:
    """The open complaint of the same customer and order received within REPEAT_WINDOW, if any: the same
    customer record (any of its keys, and the records merged into it), else the same contact."""
    order = (order_id or "").strip()
    wanted = normal_contact(contact)
    if not order or not wanted or "\x00" in order + (contact or ""):
        return None  # a NUL never matches a stored value (PostgreSQL refuses it even in a query); validation names it
    candidates = list(session.scalars(select(Complaint).where(
        Complaint.status == "open", Complaint.order_id == order,
        Complaint.received_at >= clock.now() - REPEAT_WINDOW).order_by(Complaint.id)))
    customer = customers.find(session, customers.keys_of(contact))
    family = set(customers.family(session, customer.id)) if customer is not None else set()
    return next((c for c in candidates if c.customer_record_id in family), None) or \
        next((c for c in candidates if normal_contact(c.customer_contact) == wanted), None)


def add_customer_contact(session: Session, complaint: Complaint, channel: str, summary: str) -> Contact:
    """Record that the customer got in touch themselves (no member of staff), now."""
    now = clock.now()
    contact = Contact(complaint_id=complaint.id, recorded_by_id=None, contacted_at=now, channel=channel,
                      summary=summary[:MAX_SUMMARY], created_at=now)
    session.add(contact)
    session.flush()
    audit.record(session, complaint.id, customer_link.CUSTOMER, "contact_recorded",
                 data={"channel": channel, "by_customer": True})
    return contact


def link_of(secret: str, settings: Settings, complaint: Complaint) -> str:
    """The complaint's current private link."""
    return customer_link.link_url(secret, settings.public_base_url, complaint.id, complaint.reference or "",
                                  complaint.customer_link_generation)


@use_case
def submit(uow: UnitOfWork, settings: Settings, secret: str, given: dict[str, Any], channel: str,
           locale: str, uploads: list[evidence.Upload] | None = None) -> Submitted:
    """File the customer's complaint (`given`: the intake form's fields without channel and time of
    receipt), or add it to their open complaint of the same order. Field errors: InvalidInput, nothing kept."""
    session = uow.session
    data = _intake_data(given, channel)
    repeat = open_repeat(session, data.get("customer_contact"), data.get("order_id"))
    if repeat is not None:
        if uploads:
            evidence.check_uploads(uploads, settings.evidence_max_bytes)
        return _add_to(uow, settings, secret, repeat, data, channel, locale, uploads or [])
    classified = _classify(session, _version_id(session, settings), data)
    recorded = intake.record_complaint(uow, settings, customer_link.CUSTOMER, data, secret, uploads=uploads,
                                       classified=classified, locale=locale)
    return Submitted(complaint_id=recorded.result.complaint_id, reference=recorded.result.reference,
                     link=recorded.customer_link)


def field_errors(uow: UnitOfWork, settings: Settings, given: dict[str, Any], channel: str) -> FieldErrors:
    """The field errors `submit` would refuse `given` with ({} if none), recording nothing: a form refused
    for another reason (a field sent twice, too many files) still marks every field the customer must correct."""
    session = uow.session
    data = _intake_data(given, channel)
    if open_repeat(session, data.get("customer_contact"), data.get("order_id")) is not None:
        return {}  # added to the open complaint as it is: submit checks no field then
    _classify(session, _version_id(session, settings), data)
    try:
        intake.checked(intake.intake_form(uow, settings.process_id), data)
    except InvalidInput as err:
        return dict(err.errors)
    return {}


def _intake_data(given: dict[str, Any], channel: str) -> dict[str, Any]:
    data = {k: v for k, v in given.items() if v not in (None, "")}
    data.pop("received_at", None)  # received now: a customer does not date their own complaint
    data["channel"] = channel
    return data


def _version_id(session: Session, settings: Settings) -> int:
    version = current_version(session, settings.process_id)
    if version is None:
        raise NotFound(Code.NO_DEPLOYED_VERSION, process=settings.process_id)
    return version.id


def _classify(session: Session, version_id: int, data: dict[str, Any]) -> bool:
    """Fill a missing category and level with the version's classification rules' suggestion (in `data`);
    True when the category is the rules' choice."""
    classified = not data.get("category")
    if classified or not data.get("level"):
        suggestion = classify.suggest(classify.rules_of_version(session, version_id), data)
        if classified and suggestion.category:
            data["category"] = suggestion.category
        if not data.get("level") and suggestion.level:
            data["level"] = suggestion.level
    return classified


def _add_to(uow: UnitOfWork, settings: Settings, secret: str, complaint: Complaint, data: dict, channel: str,
            locale: str, uploads: list[evidence.Upload]) -> Submitted:
    session = uow.session
    summary = "\n\n".join(str(data[k]) for k in ("description", "demand") if data.get(k))
    contact = add_customer_contact(session, complaint, channel, summary)
    if uploads:
        evidence.add_files(uow, settings, customer_link.CUSTOMER, uploads, complaint.id)
    link = link_of(secret, settings, complaint)
    address = data.get("customer_contact") or ""
    mailed = pattern_matches(_EMAIL, address)
    now = clock.now()
    session.add(Notification(
        dedupe_key=f"complaint_repeat:{contact.id}", user_id=None,
        email=address if mailed else None, complaint_id=complaint.id,
        kind="complaint_repeat", params={"reference": complaint.reference, "link": link}, locale=locale,
        created_at=now, next_attempt_at=now))
    tell_owner(session, complaint, contact)
    return Submitted(complaint_id=complaint.id, reference=complaint.reference or "", link=link, repeat=True,
                     link_mailed=mailed)


def tell_owner(session: Session, complaint: Complaint, contact: Contact) -> None:
    """Whoever works the case hears of the customer's new message: the agent who owns it, else those who hold
    its open tasks (none: nobody is told; the contact is on the complaint page for whoever takes it up)."""
    ids = {complaint.owner_id} if complaint.owner_id else set(session.scalars(select(WorkTask.assignee_id).where(
        WorkTask.complaint_id == complaint.id, WorkTask.status == "open", WorkTask.assignee_id.is_not(None))))
    users = [u for u in session.scalars(select(User).where(User.id.in_(ids))) if u.active] if ids else []
    notifications.notify(session, users, "customer_wrote", str(contact.id),
                         {"reference": complaint.reference, "customer": complaint.customer_name}, complaint.id)
