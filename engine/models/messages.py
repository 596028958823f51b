"""The outbox of notifications (what happened, rendered in the reader's language) and the complaints
mailbox's messages, each filed once."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base


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
