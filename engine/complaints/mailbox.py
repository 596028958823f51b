"""The mailbox side of e-mail intake: where the mailbox is (`IMAP_URL`), a pass over its unseen messages,
and the worker's loop that waits with IMAP IDLE between passes. Each message is filed by
`engine.complaints.mail_intake.file_message`, exactly once (see there and docs/ARCHITECTURE.md, "Customer intake").
"""
from __future__ import annotations

import imaplib
import logging
import re
import threading
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from engine.complaints import mail_attempts
from engine.complaints.mail_intake import file_message, key_in_header
from engine.config import Settings
from engine.db import Database

log = logging.getLogger(__name__)

#: Seconds between polls, and the longest IDLE wait (servers drop IDLE after 30 minutes).
POLL_SECONDS = 30.0
IDLE_SECONDS = 300.0
_UID = re.compile(rb"\bUID (\d+)")


@dataclass(frozen=True)
class Mailbox:
    """Where the mailbox is: `imap://user:password@host:port/FOLDER` (imaps:// for TLS)."""

    host: str
    port: int
    tls: bool
    user: str
    password: str
    folder: str = "INBOX"


def parse_url(url: str) -> Mailbox:
    """The mailbox an IMAP_URL names; ValueError naming what is missing."""
    parts = urlparse(url)
    if parts.scheme not in ("imap", "imaps"):
        raise ValueError(f"IMAP_URL must start with imap:// or imaps://, not {parts.scheme or 'nothing'}://")
    if not parts.hostname or not parts.username:
        raise ValueError("IMAP_URL needs a user and a host: imap://user:password@host:port/INBOX")
    tls = parts.scheme == "imaps"
    return Mailbox(host=parts.hostname, port=parts.port or (993 if tls else 143), tls=tls,
                   user=unquote(parts.username), password=unquote(parts.password or ""),
                   folder=unquote(parts.path.lstrip("/")) or "INBOX")


def connect(mailbox: Mailbox, timeout: float = 30.0) -> imaplib.IMAP4:
    """A signed-in connection with the folder selected."""
    imap = imaplib.IMAP4_SSL(mailbox.host, mailbox.port, timeout=timeout) if mailbox.tls \
        else imaplib.IMAP4(mailbox.host, mailbox.port, timeout=timeout)
    imap.login(mailbox.user, mailbox.password)
    imap.select(mailbox.folder)
    return imap


@dataclass
class Counts:
    """What one pass over the mailbox did, by outcome."""

    complaint: int = 0
    contact: int = 0
    ignored: int = 0
    refused: int = 0
    seen: int = 0
    set_aside: int = 0


def poll_once(db: Database, settings: Settings, secret: str, imap: imaplib.IMAP4) -> Counts:
    """File every unseen message of the selected folder, oldest first, each in its own transaction, then
    mark it \\Seen; then the stored copies of mail incidents an administrator retried. A message that fails is
    left unseen (and logged) for a later pass, and set aside once it has failed every attempt; until its pause
    is over it is not downloaded again (`_backing_off`)."""
    counts = Counts()
    imap.noop()  # lets the server bring the session's view up to date (Dovecot does not on SEARCH)
    status, data = imap.uid("SEARCH", "UNSEEN")
    if status != "OK":
        raise imaplib.IMAP4.error(f"UID SEARCH failed: {data!r}")
    uids = (data[0] or b"").decode().split()
    waiting = _backing_off(db, imap, uids)
    for uid in uids:
        if uid in waiting:
            continue
        status, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
        raw = next((part[1] for part in fetched if isinstance(part, tuple)), None) if status == "OK" else None
        if raw is None:
            continue
        taken = file_message(db, settings, secret, raw)
        if taken is None:
            continue
        setattr(counts, taken.outcome, getattr(counts, taken.outcome) + 1)
        imap.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    for raw in mail_attempts.kept_for_retry(db):
        if (taken := file_message(db, settings, secret, raw)) is not None:
            setattr(counts, taken.outcome, getattr(counts, taken.outcome) + 1)
    return counts


def _backing_off(db: Database, imap: imaplib.IMAP4, uids: list[str]) -> set[str]:
    """The UIDs among `uids` of messages waiting out their pause after failing, found by the Message-ID in
    their header (fetched only when some message waits); a message without one is downloaded as before."""
    waiting = mail_attempts.backing_off(db) if uids else set()
    if not waiting:
        return set()
    status, fetched = imap.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    if status != "OK":
        return set()
    found = set()
    for part in fetched:
        uid = _UID.search(part[0]) if isinstance(part, tuple) else None
        if uid is not None and key_in_header(part[1]) in waiting:
            found.add(uid.group(1).decode())
    return found


def wait_for_mail(imap: imaplib.IMAP4, seconds: float) -> bool:
    """Wait up to `seconds` with IMAP IDLE (RFC 2177) for the server to announce new mail; False without
    IDLE support (the caller sleeps instead)."""
    if "IDLE" not in imap.capabilities:
        return False
    tag = imap._new_tag()  # imaplib has no IDLE command: send it and read the continuation ourselves
    imap.send(tag + b" IDLE\r\n")
    if not imap.readline().startswith(b"+"):
        imap.tagged_commands.pop(tag, None)
        return False
    imap.sock.settimeout(seconds)
    try:
        imap.readline()  # any untagged answer ("* 3 EXISTS") ends the wait
    except TimeoutError:
        pass
    finally:
        imap.sock.settimeout(None)
    imap.send(b"DONE\r\n")
    while not (line := imap.readline()).startswith(tag):
        if not line:  # the server closed the connection: the caller's next command reports it
            break
    imap.tagged_commands.pop(tag, None)
    return True


def run(db: Database, settings: Settings, secret: str, imap_url: str, stop: threading.Event,
        poll: float = POLL_SECONDS) -> None:
    """Read the mailbox until `stop` is set: a pass, then IDLE (or sleep) until mail comes or `poll` passes;
    a lost connection is opened again after a pause."""
    mailbox = parse_url(imap_url)
    while not stop.is_set():
        try:
            imap = connect(mailbox)
            try:
                while not stop.is_set():
                    poll_once(db, settings, secret, imap)
                    if not wait_for_mail(imap, min(poll, IDLE_SECONDS)):
                        stop.wait(poll)
            finally:
                try:
                    imap.logout()
                except (OSError, imaplib.IMAP4.error):
                    pass
        except (OSError, imaplib.IMAP4.error) as err:
            log.warning("mail intake: %s; trying again in %.0f s", err, poll)
            stop.wait(poll)
