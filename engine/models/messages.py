"""The outbox of notifications (what happened, rendered in the reader's language) and the complaints
mailbox's messages, each filed once."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base


class Notification(Base):
    """The outbox: each notification once (`dedupe_key`), sent by SMTP when configured, at most once."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_unsent", "sent_at", "next_attempt_at"),
        # The navigation's unread count on every page: only unread rows, however many a user has read.
        Index("ix_outbox_unread", "user_id", postgresql_where=text("read_at IS NULL"),
              sqlite_where=text("read_at IS NULL")),
    )

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


class MailMessage(Base):
    """A message read from the complaints mailbox, recorded once by its Message-ID in the same transaction
    as what it became (a complaint, a contact on one, or nothing), so no message is processed twice."""

    __tablename__ = "mail_messages"
    #: Refused messages newest first (their list), and a sender's complaints within the last hour (the limit).
    __table_args__ = (Index("ix_mail_messages_outcome_processed", "outcome", "processed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    #: "complaint", "contact" (a reply or a repeat, added to `complaint_id`), "ignored" or "refused".
    outcome: Mapped[str] = mapped_column(String(20))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    sender: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    processed_at: Mapped[datetime]
    #: Why a refused message was refused: a code (`engine.complaints.mail_limits.REASONS`), worded where shown.
    reason: Mapped[str | None] = mapped_column(String(40))


class MailAttempt(Base):
    """A mailbox message being filed: each attempt counted in its own commit before it runs (so a worker that
    dies on the message counts too), deleted in the transaction that files it. After
    `Settings.mail_max_attempts` it is set aside (`status` "incident", its bytes kept) for an administrator to
    retry or dismiss; the rest of the mailbox goes on meanwhile."""

    __tablename__ = "mail_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    sender: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    #: "retrying" (in the mailbox, or kept here after an administrator's retry), "incident" or "dismissed".
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    first_attempt_at: Mapped[datetime]
    #: When it was set aside (None while retrying).
    failed_at: Mapped[datetime | None]
    #: The message's bytes, kept once it is set aside: a retry files this copy, the mailbox is not read again.
    raw: Mapped[bytes | None] = mapped_column(LargeBinary)
