"""Customer records (顾客档案): who complained before, and whether they are flagged.

A customer is keyed by a normalised phone number, e-mail address and platform account (any of them). Intake
(`engine.complaints.intake`) matches the complaint to the customer with any of its keys, or creates one, and
applies the repeat-complainant rule: the process owner's `customer_policy` decision (workflows/
customer_policy.dmn, deployed with the model) says how many complaints within which window flag the customer.
A flag is shown at intake and on the customer's page; it never stops anyone from complaining.

Duplicates (the same person under a landline and a mobile, say) are merged: the duplicate's complaints and
keys move to the survivor, and the duplicate row stays with `merged_into_id` so its keys still find it.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, Forbidden, NotFound
from engine.models import Complaint, Customer, ModelFile
from engine.people.access import check_can_see_complaints, visible
from engine.people.roles import INTAKE_ROLES, SYSTEM, Actor
from engine.workflow.functions import parse_duration
from engine.workflow.model_xml import NS, ModelInvalid, parse_xml
from forms.patterns import pattern_matches

#: The decision holding the repeat-complainant rule, and its outputs.
POLICY_DECISION = "customer_policy"
COUNT_OUTPUT, WINDOW_OUTPUT = "repeat_complaints", "repeat_window"
REPEAT, MALICIOUS = "repeat", "malicious"
FLAGS = (REPEAT, MALICIOUS)
#: How many earlier complaints the intake page's look-up shows.
RECENT = 10
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"  # matched by RE2: Python's re took 9 s for a 20,000-character near miss
_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers: 11 digits from 13x to 19x


# --- keys ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Keys:
    """A customer's normalised keys (None where not given)."""

    phone: str | None = None
    email: str | None = None
    platform_id: str | None = None

    def __bool__(self) -> bool:
        return bool(self.phone or self.email or self.platform_id)


def normalise_phone(text: str | None) -> str | None:
    """The digits that identify a phone number however it was typed: "+86 138-0013-8000", "13800138000",
    "138 0013 8000" and "0086 13800138000" are all "13800138000"; a landline keeps its area code's 0
    ("+86 10 6512 3456" and "010-6512 3456" are "01065123456"). None when it is no phone number."""
    if not text or "@" in text:
        return None
    digits = re.sub(r"\D", "", text)
    if digits.startswith("0086"):
        digits = digits[2:]
    if digits.startswith("86") and len(digits) >= 12 and (text.strip().startswith("+") or len(digits) == 13):
        digits = digits[2:]
        if not _MOBILE.match(digits):
            digits = "0" + digits  # written internationally, a landline's area code loses its 0
    return digits if len(digits) >= 6 else None


def normalise_email(text: str | None) -> str | None:
    """An e-mail address in lower case without surrounding blanks; None when it is none."""
    text = (text or "").strip().lower()
    return text if pattern_matches(_EMAIL, text) else None


def keys_of(contact: str | None, platform_id: str | None = None) -> Keys:
    """The keys of an intake's contact (a phone number or an e-mail address) and platform account."""
    return Keys(phone=normalise_phone(contact), email=normalise_email(contact),
                platform_id=(platform_id or "").strip() or None)


# --- matching ----------------------------------------------------------------------------------------

def survivor(session: Session, customer: Customer) -> Customer:
    """The record a customer was merged into (itself when not merged)."""
    seen = {customer.id}
    while customer.merged_into_id is not None:
        customer = session.get_one(Customer, customer.merged_into_id)
        if customer.id in seen:  # a cycle cannot be made by `merge`; stop rather than loop
            break
        seen.add(customer.id)
    return customer


def find(session: Session, keys: Keys) -> Customer | None:
    """The customer with any of these keys (phone first, then e-mail, then platform account), or None."""
    for column, value in ((Customer.phone, keys.phone), (Customer.email, keys.email),
                          (Customer.platform_id, keys.platform_id)):
        if value:
            found = session.scalars(select(Customer).where(column == value)).first()
            if found is not None:
                return survivor(session, found)
    return None


def match_or_create(session: Session, name: str, keys: Keys, now: datetime) -> Customer | None:
    """The intake's customer: found by any key (its missing keys added, when free) or created. None when
    the intake has no key at all."""
    if not keys:
        return None
    customer = find(session, keys)
    if customer is None:
        try:
            with session.begin_nested():  # a concurrent intake may create the same customer first
                customer = Customer(name=name, phone=keys.phone, email=keys.email, platform_id=keys.platform_id,
                                    created_at=now, updated_at=now)
                session.add(customer)
        except IntegrityError:
            customer = find(session, keys)
            if customer is None:
                raise
        else:
            return customer
    for attribute in ("phone", "email", "platform_id"):
        value = getattr(keys, attribute)
        if value and getattr(customer, attribute) is None and session.scalars(select(Customer.id).where(
                getattr(Customer, attribute) == value)).first() is None:
            setattr(customer, attribute, value)
    if name:
        customer.name = name
    customer.updated_at = now
    return customer


def family(session: Session, customer_id: int) -> list[int]:
    """The customer's id and the ids of every record merged into it."""
    ids, frontier = [customer_id], [customer_id]
    while frontier:
        frontier = list(session.scalars(select(Customer.id).where(Customer.merged_into_id.in_(frontier))))
        ids += frontier
    return ids


# --- the repeat rule ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class RepeatRule:
    """So many complaints within the window flag the customer."""

    complaints: int
    window: timedelta


def repeat_rule(session: Session, version_id: int, level: str | None) -> RepeatRule | None:
    """The repeat rule of a model version for a complaint of this level (the first matching rule of the
    `customer_policy` decision); None when the version has none."""
    files = session.execute(select(ModelFile.path, ModelFile.content).where(
        ModelFile.version_id == version_id, ModelFile.path.like("%.dmn"))).all()
    for path, content in files:
        for entry, rule in _rules_in(path, content):
            if entry in (None, level):
                return rule
    return None


@lru_cache(maxsize=16)
def _rules_in(path: str, content: str) -> tuple[tuple[str | None, RepeatRule], ...]:
    """(level or None for every level, rule) of the file's `customer_policy` table, in order."""
    try:
        tree = parse_xml(content, path)
    except ModelInvalid:
        return ()
    found = []
    for decision in tree.iterfind(".//dmn:decision", NS):
        table = decision.find("dmn:decisionTable", NS)
        if decision.get("id") != POLICY_DECISION or table is None:
            continue
        outputs = [o.get("name") for o in table.iterfind("dmn:output", NS)]
        inputs = [(i.findtext("dmn:inputExpression/dmn:text", namespaces=NS) or "").strip()
                  for i in table.iterfind("dmn:input", NS)]
        if COUNT_OUTPUT not in outputs or WINDOW_OUTPUT not in outputs:
            continue
        for rule in table.iterfind("dmn:rule", NS):
            entries = [(e.findtext("dmn:text", namespaces=NS) or "").strip()
                       for e in rule.iterfind("dmn:inputEntry", NS)]
            results = [e.findtext("dmn:text", namespaces=NS) for e in rule.iterfind("dmn:outputEntry", NS)]
            level_entry = entries[inputs.index("level")] if "level" in inputs and entries else "-"
            try:
                count = int(ast.literal_eval((results[outputs.index(COUNT_OUTPUT)] or "").strip()))
                window = parse_duration(ast.literal_eval((results[outputs.index(WINDOW_OUTPUT)] or "").strip()))
                level = None if level_entry in ("", "-") else ast.literal_eval(level_entry)
            except (IndexError, ValueError, SyntaxError, TypeError, KeyError):
                continue  # only plain literals can be read outside the engine
            found.append((level, RepeatRule(complaints=count, window=window)))
    return tuple(found)


def complaints_within(session: Session, customer_id: int, since: datetime) -> int:
    """How many complaints the customer (with its merged records) made received since `since`."""
    return session.scalar(select(func.count(Complaint.id)).where(
        Complaint.customer_record_id.in_(family(session, customer_id)), Complaint.received_at >= since)) or 0


def apply_repeat_rule(session: Session, customer: Customer, rule: RepeatRule | None, received: datetime,
                      now: datetime) -> bool:
    """Flag the customer as a repeat complainant when the rule says so (after the new complaint is added).
    A customer flagged for another reason keeps that flag. Returns whether the rule was met."""
    if rule is None:
        return False
    met = complaints_within(session, customer.id, received - rule.window) >= rule.complaints
    if met and customer.flag is None:
        customer.flag, customer.flagged_at = REPEAT, now
    return met


# --- reading ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CustomerView:
    """A customer with the complaints the actor may see (newest first) and the records merged into it."""

    customer: Customer
    complaints: list[Complaint]
    merged: list[Customer]


def _complaints(session: Session, actor: Actor, ids: list[int], limit: int | None = None) -> list[Complaint]:
    query = (select(Complaint).where(Complaint.customer_record_id.in_(ids), visible(actor))
             .order_by(Complaint.received_at.desc(), Complaint.id.desc()))
    return list(session.scalars(query.limit(limit) if limit else query))


@use_case
def customer_view(uow: UnitOfWork, actor: Actor, customer_id: int) -> CustomerView:
    """A customer's page: the record (a merged one is shown as its survivor) and their history."""
    check_can_see_complaints(actor)
    customer = uow.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(Code.CUSTOMER_NOT_FOUND, customer=customer_id)
    customer = survivor(uow.session, customer)
    ids = family(uow.session, customer.id)
    merged = list(uow.session.scalars(select(Customer).where(Customer.id.in_(ids[1:])).order_by(Customer.id)))
    return CustomerView(customer=customer, complaints=_complaints(uow.session, actor, ids), merged=merged)


@use_case
def look_up(uow: UnitOfWork, actor: Actor, contact: str | None, platform_id: str | None = None) -> dict | None:
    """What the intake page shows while the number is typed: the customer, their flag, how many complaints
    they made, and the latest few the actor may see. None when no customer has these keys."""
    check_can_see_complaints(actor)
    customer = find(uow.session, keys_of(contact, platform_id))
    if customer is None:
        return None
    ids = family(uow.session, customer.id)
    total = uow.session.scalar(select(func.count(Complaint.id)).where(Complaint.customer_record_id.in_(ids)))
    return {
        "id": customer.id, "name": customer.name, "flag": customer.flag, "complaints": total or 0,
        "recent": [{"id": c.id, "reference": c.reference, "received_at": c.received_at.isoformat(),
                    "status": c.status, "category": c.category}
                   for c in _complaints(uow.session, actor, ids, RECENT)],
    }


# --- changing -----------------------------------------------------------------------------------------

def may_merge(actor: Actor) -> bool:
    """Those who record complaints keep the customer records tidy."""
    return actor.role in INTAKE_ROLES


def check_can_merge(actor: Actor) -> None:
    """Refuse a merge by anyone else (`may_merge`)."""
    if not may_merge(actor):
        raise Forbidden(Code.CANNOT_MERGE_CUSTOMERS, role=actor.role)


@use_case
def merge(uow: UnitOfWork, actor: Actor, keep_id: int, duplicate_id: int) -> Customer:
    """Merge the duplicate record into `keep_id`: its complaints, the keys the survivor lacks and its flag
    move over; the duplicate stays, pointing at the survivor. Audited on each complaint moved."""
    check_can_merge(actor)
    session = uow.session
    records = {}
    for customer_id in (keep_id, duplicate_id):
        record = session.get(Customer, customer_id)
        if record is None:
            raise NotFound(Code.CUSTOMER_NOT_FOUND, customer=customer_id)
        records[customer_id] = survivor(session, record)
    keep, duplicate = records[keep_id], records[duplicate_id]
    if keep.id == duplicate.id:
        raise Conflict(Code.MERGE_SAME_CUSTOMER)
    now = clock.now()
    moved = {attribute: getattr(duplicate, attribute) for attribute in ("phone", "email", "platform_id")
             if getattr(keep, attribute) is None and getattr(duplicate, attribute) is not None}
    for attribute in moved:
        setattr(duplicate, attribute, None)
    session.flush()  # the keys are unique: free them before the survivor takes them
    for attribute, value in moved.items():
        setattr(keep, attribute, value)
    if keep.flag is None and duplicate.flag is not None:
        keep.flag, keep.flagged_at = duplicate.flag, duplicate.flagged_at
    duplicate.merged_into_id, duplicate.updated_at, keep.updated_at = keep.id, now, now
    complaint_ids = list(session.scalars(select(Complaint.id).where(Complaint.customer_record_id == duplicate.id)))
    session.execute(update(Customer).where(Customer.merged_into_id == duplicate.id, Customer.id != duplicate.id)
                    .values(merged_into_id=keep.id).execution_options(synchronize_session=False))
    # A plain UPDATE: the complaint's optimistic lock guards workflow steps, which this does not race with.
    session.execute(update(Complaint).where(Complaint.id.in_(complaint_ids)).values(customer_record_id=keep.id)
                    .execution_options(synchronize_session=False))
    for complaint_id in complaint_ids:
        audit.record(session, complaint_id, actor, "customer_merged",
                     data={"from": duplicate.id, "into": keep.id})
    return keep


def by_complaint(session: Session, complaint: Complaint) -> Customer | None:
    """The complaint's customer (the survivor of a merge), if it has one."""
    if complaint.customer_record_id is None:
        return None
    return survivor(session, session.get_one(Customer, complaint.customer_record_id))



#: End events after which the customer is flagged, and with which flag (the model's harassment end).
FLAG_ENDS = {"end_malicious": MALICIOUS}


def flag_on_close(session: Session, complaint: Complaint, now: datetime) -> None:
    """A complaint closed as harassment / malicious flags its customer (shown at intake, never blocking);
    a repeat flag gives way to it."""
    flag = FLAG_ENDS.get(complaint.outcome or "")
    customer = by_complaint(session, complaint) if flag else None
    if customer is not None and customer.flag != flag:
        customer.flag, customer.flagged_at, customer.updated_at = flag, now, now
        audit.record(session, complaint.id, SYSTEM, "customer_flagged", data={"customer": customer.id, "flag": flag})
