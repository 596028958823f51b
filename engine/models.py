"""Database tables, as typed SQLAlchemy models.

Workflow state lives in `Complaint.state` (compacted, spec stored once per `ProcessVersion`);
everything people search, list and report on is in plain indexed columns so that no query
ever has to deserialize a workflow.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        # SQLite keeps only the wall time: store every value as UTC so it reads back the same instant.
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40), index=True)
    department: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Part of every session's identity: raising it ends all of the user's sessions (sign-out, new password).
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime]


class ProcessVersion(Base):
    """One deployed bundle (BPMN + DMN + forms), identified by the hash of its content."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    spec_json: Mapped[str] = mapped_column(Text)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(80))
    #: How the version first came in: startup (the workflows/ folder), modeller, upload, api, cli.
    source: Mapped[str] = mapped_column(String(20), default="startup", server_default="startup")
    files: Mapped[list[ModelFile]] = relationship(
        back_populates="version", cascade="all, delete-orphan", order_by="ModelFile.path"
    )


class ModelDeployment(Base):
    """Each time a version was made current, by whom and through which path. Start-up compares the
    workflows/ folder with its own last deployment here, so a restart never undoes a deliberate deploy."""

    __tablename__ = "model_deployments"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(120))
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    source: Mapped[str] = mapped_column(String(20))
    deployed_by: Mapped[str] = mapped_column(String(80))
    deployed_at: Mapped[datetime]

    __table_args__ = (Index("ix_model_deployments_process_source", "process_id", "source", "id"),)


class ModelFile(Base):
    """A file of a deployed version, kept verbatim so any version can be exported back to files."""

    __tablename__ = "model_files"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    path: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    version: Mapped[ProcessVersion] = relationship(back_populates="files")


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


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_status_created", "status", "created_at"),
        Index("ix_complaints_created", "created_at"),
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
    received_at: Mapped[datetime] = mapped_column(index=True)
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


class ReportReview(Base):
    """The company-wide analysis report of one period on its way to the departments (engine.complaints.
    report_review): submitted by the agent team, reviewed and signed by the general manager with comments (which
    sends it to every department head), acknowledged by each head (`ReportAcknowledgement`)."""

    __tablename__ = "report_reviews"
    __table_args__ = (UniqueConstraint("kind", "first_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    first_day: Mapped[date] = mapped_column(Date)
    #: ``submitted`` (waiting for the general manager) or ``sent`` (signed and sent to the departments).
    state: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime]
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]
    gm_comment: Mapped[str | None] = mapped_column(Text)


class ReportAcknowledgement(Base):
    """A department head's receipt of a signed report: sent when signed, acknowledged when they confirm it."""

    __tablename__ = "report_acknowledgements"
    __table_args__ = (UniqueConstraint("review_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("report_reviews.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    department: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]


class OrderVolume(Base):
    """How many orders a report period had (entered or imported from CSV): the complaint rate's denominator."""

    __tablename__ = "order_volumes"
    __table_args__ = (UniqueConstraint("kind", "first_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    first_day: Mapped[date] = mapped_column(Date)
    orders: Mapped[int] = mapped_column(Integer)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime]


class WorkTask(Base):
    """A user task of a complaint, mirrored from the workflow so lists never deserialize workflows."""

    __tablename__ = "work_tasks"
    __table_args__ = (
        Index("ix_work_tasks_open_role", "status", "role", "department", "due_at"),
        Index("ix_work_tasks_open_assignee", "status", "assignee_id", "due_at"),
        Index("ix_work_tasks_complaint", "complaint_id", "status"),
        # The task lists' default order: open rows only, so a page is read in order and the scan stops early.
        Index("ix_work_tasks_open_due", "due_at", "id", postgresql_where=text("status = 'open'"),
              sqlite_where=text("status = 'open'")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(255))
    title_en: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(40))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Set when the warning timer fired: the deadline is near.
    warned_at: Mapped[datetime | None]
    #: Set when the deadline passed: the superior's role may now take the task too.
    escalated_to: Mapped[str | None] = mapped_column(String(40), index=True)
    escalated_at: Mapped[datetime | None]
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    complaint: Mapped[Complaint] = relationship()


class AuditEvent(Base):
    """Append-only record of every change: who, what, when, and the data entered."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_name: Mapped[str | None] = mapped_column(String(120))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Timer(Base):
    """A waiting BPMN timer event of a complaint, indexed by due time for the timer workers.

    `status`: waiting → fired (once), or cancelled (its task finished first), or incident (firing
    failed after every retry; an administrator or process owner retries it).
    """

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "status", "next_attempt_at"),
        # Timers attempted before without success, which the worker retries one complaint at a time.
        Index("ix_timers_retry", "next_attempt_at", postgresql_where=text("status = 'waiting' AND attempts > 0"),
              sqlite_where=text("status = 'waiting' AND attempts > 0")),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    work_task_id: Mapped[str | None] = mapped_column(String(36), index=True)
    task_name: Mapped[str | None] = mapped_column(String(120))
    due_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    fired_at: Mapped[datetime | None]


class Penalty(Base):
    """The penalty ledger (扣罚): one row per deduction.

    `kind`: ``timeout`` — a breached deadline (超时扣罚, a timer breaches at most once), against whoever held the
    step; ``responsible`` — the directly responsible person's deduction, decided at implementation; ``supervisor``
    — the department supervisor's, decided at the general manager's review. Who: `person_id` when the person is a
    user, else `person_name` (a carrier, a warehouse worker); `decided_by_id` decided it (NULL for timeouts).
    """

    __tablename__ = "penalties"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="timeout", server_default="timeout")
    timer_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    work_task_id: Mapped[str | None] = mapped_column(String(36))
    task_name: Mapped[str] = mapped_column(String(120))
    deadline: Mapped[datetime | None]
    person_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    person_name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(40))
    department: Mapped[str | None] = mapped_column(String(40), index=True)
    level: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[datetime] = mapped_column(index=True)


class Deferral(Base):
    """A deferral request (投诉延期处理申请): the customer cannot be reached, the deadline should move."""

    __tablename__ = "deferrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    work_task_id: Mapped[str] = mapped_column(String(36), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    requested_until: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    created_at: Mapped[datetime]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)


class Notification(Base):
    """The outbox: each notification once (`dedupe_key`), sent by SMTP when configured, at most once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unsent", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    #: What happened; with `params` it is rendered in the reader's language when shown or sent.
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The language for a recipient who is not a user (the customer); users' own setting wins.
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: When the user opened it (their notifications page, or "mark all read"); NULL: unread.
    read_at: Mapped[datetime | None]


class Deputy(Base):
    """A deputy appointment (责任代理人): while it runs (`starts_at` ≤ now < `ends_at`, not ended early) the
    deputy sees and works the department's tasks on behalf of the department head who appointed them."""

    __tablename__ = "deputies"
    __table_args__ = (Index("ix_deputies_deputy_period", "deputy_id", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(String(40), index=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime]
    #: Set when the appointment was ended before `ends_at`.
    ended_at: Mapped[datetime | None]


class Draft(Base):
    """A task form saved half-filled: one per user and task, the raw values as typed (name → list of text)."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("work_tasks.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    saved_at: Mapped[datetime]


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


class ApiToken(Base):
    """A personal API token: only the SHA-256 of the secret is kept; it is shown once, when created."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The token's first characters, so people can tell their tokens apart in lists.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    #: After this the token is refused (NULL: never; tokens made before expiry dates existed).
    expires_at: Mapped[datetime | None]
    #: A read-only token may only read (GET): anything that changes something is refused.
    read_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


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


class MailMessage(Base):
    """A message read from the complaints mailbox, recorded once by its Message-ID in the same transaction
    as what it became (a complaint, a contact on one, or nothing), so no message is processed twice."""

    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    #: "complaint", "contact" (a reply or a repeat, added to `complaint_id`) or "ignored".
    outcome: Mapped[str] = mapped_column(String(20))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    sender: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[datetime]


#: Reports count closed complaints (rounds, satisfaction) by the time they were closed.
Index("ix_complaints_closed_at", Complaint.closed_at)


class ModelDraft(Base):
    """A process owner's work on a process model, not yet deployed: one per user and process."""

    __tablename__ = "model_drafts"
    __table_args__ = (UniqueConstraint("user_id", "process_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(120))
    #: The deployed version the draft started from (None for a new process).
    base_version_id: Mapped[int | None] = mapped_column(ForeignKey("process_versions.id"))
    #: Where its content came from, recorded as the version's source when deployed: modeller or upload.
    origin: Mapped[str] = mapped_column(String(20), default="modeller", server_default="modeller")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    files: Mapped[list[ModelDraftFile]] = relationship(
        back_populates="draft", cascade="all, delete-orphan", order_by="ModelDraftFile.path"
    )


class ModelDraftFile(Base):
    """One file of a model draft (BPMN, DMN, form or test cases), as last saved."""

    __tablename__ = "model_draft_files"
    __table_args__ = (UniqueConstraint("draft_id", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("model_drafts.id"))
    path: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    draft: Mapped[ModelDraft] = relationship(back_populates="files")


class CalendarDay(Base):
    """A day of the company's working calendar that differs from the week: a public holiday, or a 调休
    make-up working day on a weekend. A year with any entry is counted from its entries alone
    (engine/workcalendar.py; docs/data-dictionary.md, "Working calendar")."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: holiday or workday
    kind: Mapped[str] = mapped_column(String(10))
    #: What the day is for, as the official schedule names it (春节, 国庆节).
    name: Mapped[str] = mapped_column(String(60))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime]


class DepartmentHours(Base):
    """A department's working hours set by the administrator (the code's defaults otherwise)."""

    __tablename__ = "department_hours"

    department: Mapped[str] = mapped_column(String(40), primary_key=True)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime]
