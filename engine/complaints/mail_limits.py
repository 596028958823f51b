"""Why the mailbox refuses a message, and the per-sender limit (docs/ARCHITECTURE.md, "Customer intake").

One address opens at most `Settings.mail_sender_hourly_limit` complaints within any hour through the mailbox;
further messages from it that would open one are refused as `rate_limited` (replies and repeats, which open
nothing, still go through). The sender is told once per such run of refusals, through the outbox: the run is
named by the sender's oldest complaint message still inside the hour, so every refusal of the run has the same
outbox key and a second worker's copy is skipped.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import clock
from engine.complaints import notifications
from engine.config import Settings
from engine.errors import InvalidInput
from engine.models import MailMessage
from forms.patterns import pattern_matches

#: The window the per-sender limit counts complaints in.
WINDOW = timedelta(hours=1)
#: Why a message was refused, as stored in `MailMessage.reason` (worded in the UI's catalogues).
INVALID_SENDER = "invalid_sender"
INVALID_MESSAGE = "invalid_message"
RATE_LIMITED = "rate_limited"
REASONS = (INVALID_SENDER, INVALID_MESSAGE, RATE_LIMITED)
#: The notification kind telling the sender their message was refused by the limit.
NOTICE = "mail_rate_limited"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"  # the intake's own check of an e-mail contact (RE2: linear time)


def refusal_reason(err: InvalidInput) -> str:
    """The reason code of an intake refusal: the sender's address (the complaint's contact), or the rest."""
    return INVALID_SENDER if "customer_contact" in err.errors else INVALID_MESSAGE


def limited_run(session: Session, settings: Settings, sender: str) -> int | None:
    """When `sender` has opened the hour's limit of complaints: the id of their oldest complaint message within
    the hour (it names the run of refusals); None while they may open another."""
    limit = settings.mail_sender_hourly_limit
    if not limit:
        return None
    ids = list(session.scalars(select(MailMessage.id).where(
        MailMessage.outcome == "complaint", MailMessage.processed_at > clock.now() - WINDOW,
        func.lower(MailMessage.sender) == sender.lower()).order_by(MailMessage.id).limit(limit)))
    return ids[0] if len(ids) >= limit else None


def tell_sender(session: Session, settings: Settings, sender: str, locale: str, run: int) -> None:
    """Answer a refusal of the run `run` once, when the sender's address is one the intake takes as a
    customer's e-mail contact (the address its complaints were opened with)."""
    if not pattern_matches(_EMAIL, sender):
        return
    now = clock.now()
    notifications.insert_rows(session, [{
        "dedupe_key": f"{NOTICE}:{run}", "user_id": None, "email": sender, "complaint_id": None, "kind": NOTICE,
        "params": {"limit": settings.mail_sender_hourly_limit}, "locale": locale, "created_at": now,
        "next_attempt_at": now, "attempts": 0}])
