"""The case file: customers, complaints with their search and report columns, comments, contacts,
evidence, remedies, surveys, classification suggestions, form drafts and API idempotency keys."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base


class Customer(Base):
    """A customer (顾客档案), keyed by normalised phone, e-mail and platform id (engine.complaints.customers).

    A duplicate merged into another keeps its row with `merged_into_id` set, so its keys still find the survivor."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40), unique=True)
    email: Mapped[str | None] = mapped_column(String(200), unique=True)
    platform_id: Mapped[str | None] = mapped_column(String(120), unique=True)
    #: Why the customer is flagged at intake ("repeat", "malicious"); NULL: not flagged. Never blocks a complaint.
    flag: Mapped[str | None] = mapped_column(String(20))
    flagged_at: Mapped[datetime | None]
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

#: The complaint columns the reports read by receipt and by closing time (engine/complaints/reports/queries.py).
REPORT_COLUMNS = ("department", "category", "level", "channel", "valid", "first_response_at", "customer_contact",
                  "customer_name", "cause", "product", "logistics_issue", "outcome")
CLOSED_REPORT_COLUMNS = ("department", "round", "satisfied")


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_status_created", "status", "created_at"),
        Index("ix_complaints_created", "created_at"),
        # Reports and search place complaints by receipt. On PostgreSQL the index carries every column the
        # reports read, so a month is an index-only scan, not ~10,000 wide heap pages (docs/PERFORMANCE.md,
        # "1,000,000 complaints"); SQLite has no INCLUDE and keeps a plain index.
        Index("ix_complaints_received_at", "received_at", postgresql_include=list(REPORT_COLUMNS)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(40), unique=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    outcome: Mapped[str | None] = mapped_column(String(120))
    customer_name: Mapped[str] = mapped_column(String(200))
    customer_contact: Mapped[str] = mapped_column(String(200), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(120))
    #: The customer record (engine.complaints.customers) matched or created at intake; NULL for complaints older
    #: than customer records.
    customer_record_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(40), index=True)
    order_id: Mapped[str | None] = mapped_column(String(120))
    product: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    demand: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40), index=True)
    #: 物流问题类型 of a logistics complaint (lost, damaged, late, wrong_address, short, wrong_item); reports count it.
    logistics_issue: Mapped[str | None] = mapped_column(String(20), index=True)
    level: Mapped[str] = mapped_column(String(40), index=True)
    department: Mapped[str | None] = mapped_column(String(40), index=True)
    round: Mapped[int | None] = mapped_column(Integer)
    valid: Mapped[bool | None] = mapped_column(Boolean)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    #: The department head's cause analysis and chosen solution type (reports group by them).
    cause: Mapped[str | None] = mapped_column(Text)
    solution_type: Mapped[str | None] = mapped_column(String(40), index=True)
    #: 受理时间: when the complaint was received. Every clock of the regulation counts from it; reports and search
    #: place a complaint by it. `created_at` is 登记时间, when it was typed in.
    received_at: Mapped[datetime]
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: The agent who owns the case: their lane's tasks are assigned to them.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    #: The customer's links name this number; revoking them raises it, so every link given before is refused.
    customer_link_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Optimistic lock: bumped once per recorded step (engine.complaints.progress), checked on every UPDATE.
    __mapper_args__ = {"version_id_col": lock_version, "version_id_generator": False}


#: Reports count closed complaints (rounds, satisfaction) by the time they were closed (index-only on PostgreSQL).
Index("ix_complaints_closed_at", Complaint.closed_at, postgresql_include=list(CLOSED_REPORT_COLUMNS))


class Comment(Base):
    """An internal note on a complaint by a member of staff (never shown to the customer)."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Contact(Base):
    """One contact with the customer: when, through which channel, who spoke, and what was said."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    #: Empty when the customer got in touch themselves (a reply by e-mail, a repeat submission of the form).
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contacted_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class Evidence(Base):
    """An evidence file (photo, chat or call record). Stored under a random name; never deleted.

    `complaint_id` is empty only between upload and the intake that attaches it.
    """

    __tablename__ = "evidence"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    #: Empty when the customer sent it (the public form, an e-mail's attachment).
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    original_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]


class Remedy(Base):
    """One remedy being carried out for a complaint (engine.complaints.remedies): a refund (amount, promised and
    done dates), a return or a re-shipment (waybill), or a claim against the courier (理赔: amount, state)."""

    __tablename__ = "remedies"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    waybill: Mapped[str | None] = mapped_column(String(60))
    courier: Mapped[str | None] = mapped_column(String(60))
    promised_on: Mapped[date | None] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Survey(Base):
    """The customer's answer to the satisfaction survey of one handling round (at most one per round).

    `applied`: the answer decided the workflow's "satisfied?" gateway; False when the agent's follow-up
    had already decided it (the answer is kept all the same)."""

    __tablename__ = "surveys"
    __table_args__ = (UniqueConstraint("complaint_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)
    satisfied: Mapped[bool] = mapped_column(Boolean)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(index=True)
    applied: Mapped[bool] = mapped_column(Boolean)


class Classification(Base):
    """The automatic first classification of a complaint (engine.complaints.classify): what the rules
    suggested from the text, the words that matched, and what the agent decided at the validity check."""

    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), unique=True)
    category: Mapped[str | None] = mapped_column(String(40))
    level: Mapped[str | None] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(40))
    #: The rules' matched words, e.g. [{"word": "快递", "field": "description", "for": "category"}].
    matched: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: The suggestion was applied because the customer gave no category (else it is only shown).
    applied: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    decided_category: Mapped[str | None] = mapped_column(String(40))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    #: The agent kept the suggested category (None until decided).
    kept: Mapped[bool | None] = mapped_column(Boolean)


class Draft(Base):
    """A task form saved half-filled: one per user and task, the raw values as typed (name → list of text)."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("work_tasks.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    saved_at: Mapped[datetime]


class IdempotencyRecord(Base):
    """A request made with an `Idempotency-Key`: the key, whose it is, a fingerprint of the request and
    the result it produced, so a repeat returns that result instead of acting twice."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    scope: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)
