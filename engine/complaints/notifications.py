"""Notifications: written to the outbox in the same transaction as their cause, sent at most once.

The outbox keeps what happened (`kind` and `params`), not text: the words are chosen in the reader's
language when the message is shown or sent, by a `Renderer` the entry point hands in (the catalogues
live with the UI). `Renderer(kind, params, locale) -> (subject, body)`.
"""
from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import cast
from urllib.parse import urlparse

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from engine import bulk, clock
from engine.db import Database, UnitOfWork
from engine.models import Notification, User
from engine.people.roles import DEPARTMENT_HEAD

SEND_BATCH = 50


def users_for(session: Session, role: str, department: str | None = None) -> list[User]:
    """Active users of a role (of the department, for department heads), looked up once per transaction."""
    key = ("users_for", role, department if role == DEPARTMENT_HEAD else None)
    if key not in session.info:
        query = select(User).where(User.role == role, User.active.is_(True))
        if role == DEPARTMENT_HEAD and department:
            query = query.where(User.department == department)
        session.info[key] = list(session.scalars(query))
    return list(session.info[key])  # a copy: callers add to it (a breach adds the superior to the holders)


Renderer = Callable[[str, dict, str], tuple[str, str]]
DEFAULT_LOCALE = "zh"
#: A list put in `session.info` under this key collects the rows `notify` would insert, for the caller to
#: insert all at once with `insert_rows` (the timer worker does so once per batch of complaints).
OUTBOX_BUFFER = "outbox_buffer"


def notify(session: Session, users: list[User], kind: str, key: str, params: dict,
           complaint_id: int | None = None) -> None:
    """Queue one message per user; `key` makes it unique per user, so a repeat is ignored."""
    users = list({u.id: u for u in users}.values())
    if not users:
        return
    now = clock.now()
    rows = [{"dedupe_key": f"{kind}:{key}:{u.id}", "user_id": u.id, "email": u.email, "complaint_id": complaint_id,
             "kind": kind, "params": params, "created_at": now, "next_attempt_at": now, "attempts": 0}
            for u in users]
    buffer = session.info.get(OUTBOX_BUFFER)
    if buffer is not None:
        buffer.extend(rows)
    else:
        insert_rows(session, rows)


def insert_rows(session: Session, rows: list[dict]) -> None:
    """Insert outbox rows made by `notify` in one statement; a row whose key is already there is skipped."""
    rows = list({r["dedupe_key"]: r for r in rows}.values())
    if not rows:
        return
    # Core, not the ORM's bulk insert: nothing reads the rows back as objects, and its per-row bookkeeping cost
    # more than the insert; on PostgreSQL one statement for every row (docs/PERFORMANCE.md, "Timers").
    table = cast(Table, Notification.__table__)
    if session.autoflush:  # as the ORM's statement would: rows the new ones refer to are written first
        session.flush()
    bulk.insert_rows(session.connection(), table, rows, unique=("dedupe_key",))


def send_pending(db: Database, smtp_url: str | None, sender: str, render: Renderer | None) -> int:
    """Send queued e-mails (when SMTP is configured), each in its reader's language. Each message is
    claimed in its own commit first, so a crash mid-send can never lead to a second copy. Returns how
    many were sent."""
    if not smtp_url or render is None:
        return 0
    sent = 0
    with UnitOfWork(db) as uow:
        batch = list(uow.session.scalars(
            select(Notification).where(Notification.sent_at.is_(None), Notification.attempts == 0,
                                       Notification.email.is_not(None))
            .order_by(Notification.id).limit(SEND_BATCH).with_for_update(skip_locked=True)))
        for message in batch:
            message.attempts = 1
            message.next_attempt_at = clock.now() + timedelta(days=3650)
        locales = dict(uow.session.execute(select(User.id, User.locale).where(
            User.id.in_([m.user_id for m in batch if m.user_id is not None]))).all())
        uow.commit()
        # every claimed row has an address (the query's condition)
        claimed = [(m.id, m.email or "", m.kind, m.params,
                    (locales.get(m.user_id) if m.user_id is not None else None) or m.locale or DEFAULT_LOCALE)
                   for m in batch]
    for message_id, address, kind, params, locale in claimed:
        error = None
        try:
            _smtp_send(smtp_url, sender, address, *render(kind, params, locale), message_id=message_id)
        except (OSError, smtplib.SMTPException) as err:
            error = str(err)
        with UnitOfWork(db) as uow:
            message = uow.session.get_one(Notification, message_id)
            if error is None:
                message.sent_at = clock.now()
                sent += 1
            else:
                message.last_error = error
            uow.commit()
    return sent


def outbox_message_id(outbox_id: int, sender: str) -> str:
    """The Message-ID of the e-mail sent for an outbox row: a customer's reply names it in In-Reply-To,
    which is how the mailbox worker (engine.complaints.mail_intake) finds the complaint again."""
    return f"<outbox.{outbox_id}@{sender.rpartition('@')[2] or 'localhost'}>"


def _smtp_send(smtp_url: str, sender: str, to: str, subject: str, body: str, message_id: int | None = None) -> None:
    url = urlparse(smtp_url)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    if message_id is not None:
        message["Message-ID"] = outbox_message_id(message_id, sender)
    message.set_content(body)
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with smtp_class(url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 25),
                    timeout=10) as smtp:
        if url.scheme == "smtp+starttls":
            smtp.starttls()
        if url.username:
            smtp.login(url.username, url.password or "")
        smtp.send_message(message)
