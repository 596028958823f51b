"""Mailbox messages that keep failing: counted, backed off, then set aside (docs/ARCHITECTURE.md, "Customer intake").

The mailbox worker (`engine.complaints.mailbox.poll_once`) asks `begin` before it files a message. `begin`
counts the attempt in a commit of its own, before anything runs, so a worker killed by the message counts as a
failed attempt too; the transaction that files the message deletes the count (`forget`). A failure is
recorded with its error (`failed`) and the message waits, doubling the pause each time (as timers do,
`engine.complaints.timers`). After `Settings.mail_max_attempts` attempts the message is set aside: its bytes are
kept in the row, it is marked \\Seen so the mailbox's other messages go on, and administrators see it among
the incidents (`engine.complaints.mail_incidents`) to retry once the cause is fixed, or dismiss.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.complaints import stored_failures
from engine.config import Settings
from engine.db import Database, UnitOfWork, is_unavailable
from engine.errors import Code
from engine.models import MailAttempt
from engine.people.roles import SYSTEM

log = logging.getLogger(__name__)

#: The pause after the first failure; it doubles with each further one.
BACKOFF = timedelta(seconds=30)
#: Stored copies of retried incidents filed per pass (the rest wait for the next pass).
RETRY_BATCH = 20


class Step(StrEnum):
    """What `begin` decided for a message."""

    RUN = "run"
    #: Backing off after a failure, or another worker began it this moment: left for a later pass.
    WAIT = "wait"
    #: Set aside, now or before: marked \\Seen, listed for administrators.
    SET_ASIDE = "set_aside"


def begin(db: Database, settings: Settings, key: str, sender: str, subject: str, raw: bytes) -> Step:
    """Count one attempt at filing the message `key` before it runs, in its own commit; set it aside instead
    when it has failed `settings.mail_max_attempts` times."""
    now = clock.now()
    with UnitOfWork(db) as uow:
        session = uow.session
        row = session.scalar(select(MailAttempt).where(MailAttempt.message_id == key).with_for_update())
        if row is None:
            row = MailAttempt(message_id=key, sender=sender[:255], subject=subject[:255], status="retrying",
                              attempts=0, next_attempt_at=now, first_attempt_at=now)
            session.add(row)
        elif row.status != "retrying":
            return Step.SET_ASIDE
        elif row.next_attempt_at > now:
            return Step.WAIT
        if row.attempts >= settings.mail_max_attempts:
            _set_aside(session, row, raw, now)
            uow.commit()
            return Step.SET_ASIDE
        wait = BACKOFF * 2 ** (row.attempts - 1) if row.attempts else timedelta(0)
        row.attempts += 1
        row.next_attempt_at = now + wait
        # what the attempt leaves until it reports back: it stays when the worker dies on the message
        row.last_error = stored_failures.stored_text(Code.MAIL_CRASHED,
                                                    {"n": row.attempts, "max": settings.mail_max_attempts})
        try:
            uow.commit()
        except IntegrityError:  # another worker counted the same message's first attempt at the same moment
            return Step.WAIT
    return Step.RUN


def failed(db: Database, settings: Settings, key: str, raw: bytes, err: Exception) -> bool:
    """Record that filing `key` raised `err`; True when that was its last attempt and it is now set aside.
    A database that could not be reached is not the message's fault: that attempt is given back."""
    now = clock.now()
    with UnitOfWork(db) as uow:
        row = uow.session.scalar(select(MailAttempt).where(MailAttempt.message_id == key).with_for_update())
        if row is None or row.status != "retrying":
            return False
        if is_unavailable(err):
            row.attempts = max(0, row.attempts - 1)
            row.next_attempt_at = now + BACKOFF
        else:
            row.last_error = stored_failures.failure_text(err, other=Code.MAIL_FAILED)
            row.next_attempt_at = now + BACKOFF * 2 ** (row.attempts - 1)
        aside = row.attempts >= settings.mail_max_attempts
        if aside:
            _set_aside(uow.session, row, raw, now)
        uow.commit()
    return aside


def forget(session: Session, key: str) -> None:
    """The message is filed (in `session`'s transaction): its count goes with it."""
    session.execute(delete(MailAttempt).where(MailAttempt.message_id == key))


def backing_off(db: Database) -> set[str]:
    """The keys of messages still in the mailbox that wait out their pause after failing (`begin` would say
    WAIT): the mailbox need not download them again until then."""
    with UnitOfWork(db, write=False) as uow:
        return set(uow.session.scalars(select(MailAttempt.message_id).where(
            MailAttempt.status == "retrying", MailAttempt.raw.is_(None), MailAttempt.next_attempt_at > clock.now())))


def kept_for_retry(db: Database) -> list[bytes]:
    """The stored copies of incidents an administrator retried, due now (oldest first)."""
    with UnitOfWork(db, write=False) as uow:
        return [raw for raw in uow.session.scalars(
            select(MailAttempt.raw).where(MailAttempt.status == "retrying", MailAttempt.raw.is_not(None),
                                          MailAttempt.next_attempt_at <= clock.now())
            .order_by(MailAttempt.id).limit(RETRY_BATCH)) if raw is not None]


def _set_aside(session: Session, row: MailAttempt, raw: bytes, now: datetime) -> None:
    row.status, row.failed_at, row.raw = "incident", now, raw
    audit.record(session, None, SYSTEM, "mail_incident",
                 data={"message": row.message_id, "attempts": row.attempts, "error": row.last_error})
    log.error("mail intake: message %s set aside after %d attempts: %s", row.message_id, row.attempts,
              row.last_error)
