"""The work on complaints, mirrored from the workflows: open tasks, waiting timers, the penalty ledger,
deferral requests."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.models.base import Base
from engine.models.complaints import Complaint
from engine.models.people import User

#: What the task lists show and filter on and the navigation counts by, besides the key (due_at, id).
OPEN_TASK_COLUMNS = ("complaint_id", "role", "department", "assignee_id", "escalated_to", "warned_at", "created_at",
                     "name", "title", "title_en")
#: Open tasks nobody holds.
POOL = "status = 'open' AND assignee_id IS NULL"


class WorkTask(Base):
    """A user task of a complaint, mirrored from the workflow so lists never deserialize workflows."""

    __tablename__ = "work_tasks"
    __table_args__ = (
        Index("ix_work_tasks_open_role", "status", "role", "department", "due_at"),
        Index("ix_work_tasks_open_assignee", "status", "assignee_id", "due_at"),
        Index("ix_work_tasks_complaint", "complaint_id", "status"),
        # The task lists' default order: open rows only, so a page is read in order and the scan stops early. On
        # PostgreSQL it carries every column the lists and the navigation's counts read, so they never visit the
        # heap (docs/PERFORMANCE.md, "1,000,000 complaints"); SQLite has no INCLUDE.
        Index("ix_work_tasks_open_due", "due_at", "id", postgresql_where=text("status = 'open'"),
              sqlite_where=text("status = 'open'"), postgresql_include=list(OPEN_TASK_COLUMNS)),
        # The roles' pools nobody holds (the queues and the navigation's count of them), by role and by the role
        # a missed deadline escalated to: a pool is an index range, however many other tasks are open.
        Index("ix_work_tasks_pool", "role", "due_at", "id", postgresql_include=["department"],
              postgresql_where=text(POOL), sqlite_where=text(POOL)),
        Index("ix_work_tasks_pool_escalated", "escalated_to", "due_at", "id", postgresql_include=["role"],
              postgresql_where=text(POOL), sqlite_where=text(POOL)),
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
