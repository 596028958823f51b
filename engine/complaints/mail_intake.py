"""E-mail intake: filing one message read from the complaints mailbox (`engine.complaints.mailbox` reads it).

A new message becomes a complaint (channel `email`, through `engine.complaints.self_service.submit`, so
repeats and the classification work as on the web form), its attachments that complaint's evidence. A
reply to a message the system sent the customer — In-Reply-To / References naming an outbox Message-ID
(`notifications.outbox_message_id`), or the complaint's reference in the subject — from the customer's address
is a contact on that complaint. Automatic mail (out-of-office answers, bounces, our own) is
ignored, so two robots never write to each other.

Exactly once: each message is recorded by its Message-ID (`MailMessage`, unique) in the same transaction
as what it became; it is marked \\Seen on the server only after that commit. A worker killed between
the two finds the message unseen again and skips it by its Message-ID; two workers racing on one message
collide on the unique key and one of them does nothing. A message whose filing keeps failing is counted, backed off and
set aside after a few attempts (`engine.complaints.mail_attempts`); one sender opens at most a few complaints an
hour (`engine.complaints.mail_limits`). See docs/ARCHITECTURE.md, "Customer intake".
"""
from __future__ import annotations

import hashlib
import html
import logging
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine import clock
from engine.complaints import evidence, mail_attempts, mail_limits, self_service
from engine.complaints.customer_link import CUSTOMER
from engine.config import Settings
from engine.db import Database, UnitOfWork, use_case
from engine.errors import InvalidInput
from engine.models import Complaint, MailMessage, Notification
from engine.models.base import MAX_ROW_ID

log = logging.getLogger(__name__)

#: The longest description taken from a message (the intake form's limit).
MAX_DESCRIPTION = 4000
#: A message's demand when the customer did not write one apart (the intake form requires one).
NO_DEMAND = {"zh": "（邮件中未单独写明，见投诉内容）", "en": "(not stated apart: see the description)"}
#: The description of a message with neither subject nor text (a photo alone is a complaint too).
NO_TEXT = {"zh": "（邮件没有正文，见附件）", "en": "(the message has no text: see its attachments)"}
#: The longest header field read, in bytes (RFC 5322 keeps lines under 1,000; longer fields are folded). The email
#: package parses some headers in time quadratic in their length (a 20,000-character From took 13 s), so anything
#: beyond is cut off before parsing.
MAX_HEADER_FIELD = 2000
REFERENCE = re.compile(r"\bTS\d{8}-\d{6}\b")
# Whoever sends mail writes the text these patterns read, so each runs in time linear in it (docs/RELIABILITY.md,
# "Security"): no repetition that can give back what it took to try again (possessive `*+`), no scan that can run
# past the last `>` or a closing tag once missed, and blanks that never reach over a line break.
_OUTBOX_ID = re.compile(r"<outbox\.(\d+)@[^<>]*+>")
_ORDER = re.compile(r"(?:订单号?|order(?:\s*+(?:no\.?|number|id))?)\s*+[:：#]?\s*+([A-Za-z0-9][A-Za-z0-9\-]{3,60})",
                    re.IGNORECASE)
#: Where a reply's quoted history starts ("On … wrote:", "在 … 写道：", Outlook's header).
_QUOTE_START = re.compile(
    r"^[^\S\n]*+(On .{0,200}wrote:|在.{0,200}写道[:：]|-{2,}+[^\S\n]*+(Original Message|原始邮件)[^\S\n]*+-{2,})"
    r"[^\S\n]*+$", re.IGNORECASE | re.MULTILINE)
#: HTML: where a script or style element opens, where each closes, and any other tag.
_HIDDEN_OPEN = re.compile(r"<(script|style)", re.IGNORECASE)
_HIDDEN_CLOSE = {name: re.compile(rf"</{name}>", re.IGNORECASE) for name in ("script", "style")}
_TAG = re.compile(r"<[^>]*+>")
#: A line break that starts a new header field (a folded field's next line starts with a blank).
_FIELD_START = re.compile(rb"\r?\n(?![ \t])")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# --- one message ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """What one message became: "complaint", "contact", "ignored", "refused", "seen" (done before) or
    "set_aside" (it failed every attempt: a mail incident)."""

    outcome: str
    complaint_id: int | None = None


def header(message: EmailMessage, name: str) -> str:
    """A header's value decoded, without NULs (no database column holds one); as written when the email package
    cannot parse it. A malformed header (an encoded word inside an address, say) makes its parser raise
    anything from IndexError on, and a message that raised would stay unseen and fail on every pass."""
    try:
        value = str(message.get(name) or "")
    except Exception:  # noqa: BLE001 - whatever the parser raises, the header is read as written
        value = str(next((v for k, v in message.raw_items() if k.lower() == name.lower()), ""))
    return value.replace("\x00", "")


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a malformed Content-Disposition: the file is kept without its name
        name = None
    return (name or "").replace("\x00", "") or "attachment"


def _capped_headers(raw: bytes) -> bytes:
    """`raw` with each header field cut to MAX_HEADER_FIELD bytes; the body as it came."""
    ends = [at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at >= 0]
    end = min(ends) if ends else len(raw)
    fields = _FIELD_START.split(raw[:end])
    if all(len(field) <= MAX_HEADER_FIELD for field in fields):
        return raw
    return b"\r\n".join(field[:MAX_HEADER_FIELD].rstrip(b"\r\n") for field in fields) + raw[end:]


def message_key(message: EmailMessage, raw: bytes) -> str:
    """The message's Message-ID, or a digest of its bytes when it has none (the same message, the same key)."""
    return _given_key(message) or "sha256:" + hashlib.sha256(raw).hexdigest()


def key_in_header(head: bytes) -> str | None:
    """The key `message_key` gives a message, read from its header alone (the mailbox fetches only that to
    skip a message that waits after failing); None when it has no Message-ID (its key needs all its bytes)."""
    return _given_key(_headers(head)) or None


def _given_key(message: EmailMessage) -> str:
    return header(message, "Message-ID").strip()[:255]


def _headers(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(_capped_headers(raw), headersonly=True)
    assert isinstance(message, EmailMessage)  # policy.default makes EmailMessage objects
    return message


def _text(message: EmailMessage) -> str:
    """The message's own text: plain text preferred, HTML reduced to text, quoted history cut off."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, UnicodeDecodeError):  # an unknown or lying charset: keep what decodes
        text = _payload(part).decode("utf-8", "replace")
    if part.get_content_subtype() == "html":
        text = _html_text(text)
    cut = _QUOTE_START.search(text)
    if cut:
        text = text[:cut.start()]
    lines = [line.replace("\x00", "") for line in text.splitlines() if not line.lstrip().startswith(">")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _html_text(text: str) -> str:
    """An HTML body's words: scripts and styles left out, every other tag a blank, entities decoded. Each search
    starts where the last one ended, and a tag found unclosed once is not looked for again, so a body of unclosed
    `<script` tags costs one pass, not one per tag."""
    kept, at, search_from, unclosed = [], 0, 0, set()
    while (opening := _HIDDEN_OPEN.search(text, search_from)) is not None:
        name = opening[1].lower()
        closing = None if name in unclosed else _HIDDEN_CLOSE[name].search(text, opening.end())
        if closing is None:  # never closed: it stays text, tags removed below
            unclosed.add(name)
            search_from = opening.end()
            continue
        kept.append(text[at:opening.start()])
        at = search_from = closing.end()
    kept.append(text[at:])
    text = "".join(kept)
    last = text.rfind(">") + 1  # a tag ends at the next ">": past the last one, no "<" starts a tag
    return html.unescape(_TAG.sub(" ", text[:last]) + text[last:])


def _payload(part) -> bytes:
    """A part's content as bytes, its transfer encoding undone."""
    content = part.get_payload(decode=True)
    return content if isinstance(content, bytes) else b""


def _attachments(message: EmailMessage) -> list[evidence.Upload]:
    return [evidence.Upload(filename=_filename(part), content=_payload(part))
            for part in message.iter_attachments()]


def _automatic(message: EmailMessage, sender: str, settings: Settings) -> bool:
    """Mail no person wrote: our own, auto-replies (RFC 3834), bounces, lists."""
    auto = (header(message, "Auto-Submitted") or "no").strip().lower()
    return (auto != "no" or sender.casefold() == settings.mail_sender.casefold()
            or header(message, "Precedence").lower() in ("bulk", "junk", "list")
            or sender.lower().startswith(("mailer-daemon@", "postmaster@")) or not sender)


def _replied_to(session, message: EmailMessage, subject: str, sender: str) -> Complaint | None:
    """The complaint this message answers, when it comes from the customer's address: named by the Message-ID
    of a message we sent the customer (In-Reply-To / References), or by the reference in its subject. Both are
    easy to guess (outbox ids count up, references are dated serials), so either counts only from the address
    the complaint's customer gave or we wrote to; from anyone else the message is a complaint of its own."""
    threads = " ".join(header(message, h) for h in ("In-Reply-To", "References"))
    # An id beyond the column's range is nobody's; in the query it would fail the message on every pass.
    outbox_ids = [int(n) for n in _OUTBOX_ID.findall(threads) if len(n) <= 10 and int(n) <= MAX_ROW_ID][:20]
    from_customer = self_service.normal_contact(sender)
    if outbox_ids:  # only what we wrote to the customer (user_id empty), never staff's notifications
        for complaint_id, sent_to in session.execute(select(Notification.complaint_id, Notification.email).where(
                Notification.id.in_(outbox_ids), Notification.complaint_id.is_not(None),
                Notification.user_id.is_(None)).order_by(Notification.id.desc())):
            complaint = session.get(Complaint, complaint_id)
            if complaint is not None and from_customer in (self_service.normal_contact(sent_to),
                                                           self_service.normal_contact(complaint.customer_contact)):
                return complaint
    for reference in REFERENCE.findall(subject):
        complaint = session.scalar(select(Complaint).where(Complaint.reference == reference))
        if complaint is not None and self_service.normal_contact(complaint.customer_contact) == from_customer:
            return complaint
    return None


@use_case
def take_message(uow: UnitOfWork, settings: Settings, secret: str, raw: bytes) -> Taken:
    """File one message (its bytes as the server holds them), at most once by its Message-ID."""
    session = uow.session
    message = message_from_bytes(_capped_headers(raw), policy=policy.default)
    assert isinstance(message, EmailMessage)  # policy.default makes EmailMessage objects
    key = message_key(message, raw)
    mail_attempts.forget(session, key)  # filed (or found filed) in this transaction: no attempt left to count
    if session.scalar(select(MailMessage.id).where(MailMessage.message_id == key)) is not None:
        return Taken("seen")
    name, sender = parseaddr(header(message, "From"))
    subject = header(message, "Subject").strip()
    body = _text(message)
    row = MailMessage(message_id=key, outcome="ignored", sender=sender[:255], subject=subject[:255],
                      processed_at=clock.now())
    session.add(row)
    if not _automatic(message, sender, settings):
        replied = _replied_to(session, message, subject, sender)
        if replied is not None:
            contact = self_service.add_customer_contact(session, replied, "email",
                                                        "\n\n".join(filter(None, (subject, body))))
            self_service.tell_owner(session, replied, contact)
            uploads = _acceptable(_attachments(message), settings)
            if uploads:
                evidence.add_files(uow, settings, CUSTOMER, uploads, replied.id)
            row.outcome, row.complaint_id = "contact", replied.id
        else:
            row.outcome, row.complaint_id, row.reason = _new(uow, settings, secret, message, name, sender, subject,
                                                             body)
    try:
        session.flush()
    except IntegrityError:  # another worker recorded the same message first: it is theirs
        session.rollback()
        return Taken("seen")
    return Taken(row.outcome, row.complaint_id)


def _new(uow: UnitOfWork, settings: Settings, secret: str, message: EmailMessage, name: str, sender: str,
         subject: str, body: str) -> tuple[str, int | None, str | None]:
    text = "\n\n".join(filter(None, (subject, body)))
    locale = "zh" if _CJK.search(text) or not text else "en"
    text = text or NO_TEXT[locale]  # else the intake would refuse it and the message be lost
    uploads = _attachments(message)
    accepted = _acceptable(uploads, settings)
    left_out = [u.filename for u in uploads if u not in accepted]
    if left_out:  # the agent should know what the customer sent but we could not keep
        text += "\n\n" + ("未收下的附件：" if locale == "zh" else "Attachments not kept: ") + ", ".join(left_out)
    order = _ORDER.search(text)
    given = {"customer_contact": sender, "customer_name": (name or sender.partition("@")[0])[:200],
             "order_id": order.group(1) if order else None, "description": text[:MAX_DESCRIPTION],
             "demand": NO_DEMAND[locale]}
    # Only a message that would open a complaint counts against the sender's limit (a repeat opens none).
    if self_service.open_repeat(uow.session, sender, given["order_id"]) is None and \
            (run := mail_limits.limited_run(uow.session, settings, sender)) is not None:
        mail_limits.tell_sender(uow.session, settings, sender, locale, run)
        return "refused", None, mail_limits.RATE_LIMITED
    try:  # refused before anything is written (the attachments were checked above)
        done = self_service.submit(uow, settings, secret, given, "email", locale, accepted)
    except InvalidInput as err:
        log.warning("mail from %s not filed: %s", sender, err)
        return "refused", None, mail_limits.refusal_reason(err)
    return ("contact" if done.repeat else "complaint"), done.complaint_id, None


def _acceptable(uploads: list[evidence.Upload], settings: Settings) -> list[evidence.Upload]:
    """The attachments staff could upload too (same types and size); the rest are named, not kept."""
    keep = []
    for upload in uploads:
        try:
            evidence.check_uploads([upload], settings.evidence_max_bytes)
        except InvalidInput:
            continue
        keep.append(upload)
    return keep


# --- the mailbox -----------------------------------------------------------------------------------------


def file_message(db: Database, settings: Settings, secret: str, raw: bytes) -> Taken | None:
    """File one message with its attempt counted first (`mail_attempts.begin`); None when it is left for a
    later pass (it failed, or waits after failing). One bad message must not stop the mailbox."""
    try:
        key, sender, subject = _identity(raw)
        step = mail_attempts.begin(db, settings, key, sender, subject, raw)
    except Exception:  # noqa: BLE001 - the database, most likely: nothing counted, the next pass tries again
        log.exception("mail intake: a message could not be counted")
        return None
    if step is not mail_attempts.Step.RUN:
        return Taken("set_aside") if step is mail_attempts.Step.SET_ASIDE else None
    try:
        with UnitOfWork(db) as uow:
            return take_message(uow, settings, secret, raw)
    except Exception as err:  # noqa: BLE001 - counted, backed off, set aside after the last attempt
        log.exception("mail intake: message %s failed", key)
        try:
            return Taken("set_aside") if mail_attempts.failed(db, settings, key, raw, err) else None
        except Exception:  # noqa: BLE001 - the attempt stays counted as one that did not finish
            log.exception("mail intake: the failure of %s could not be recorded", key)
            return None


def _identity(raw: bytes) -> tuple[str, str, str]:
    """The message's key (as `take_message` finds it), sender and subject, from its headers alone."""
    message = _headers(raw)
    return message_key(message, raw), parseaddr(header(message, "From"))[1], header(message, "Subject").strip()
